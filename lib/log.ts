/**
 * Structured logging with pino. PII (UPNs, mail, names) and secrets are redacted by path; the
 * correlation id rides in a child logger (`logger.child({ correlationId })`).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths censored in every log line. Values are replaced, keys kept, so logs stay greppable. */
export const REDACT_PATHS = [
  'userPrincipalName',
  '*.userPrincipalName',
  'upn',
  '*.upn',
  'mail',
  '*.mail',
  'displayName',
  '*.displayName',
  'employeeId',
  '*.employeeId',
  'clientState',
  '*.clientState',
  'secret',
  '*.secret',
  'secrets',
  '*.secrets',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'connectionString',
  '*.connectionString',
  'payload',
  '*.payload',
];

export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { app: 'ems-licensing' },
    },
    options.destination,
  );
}

/** A logger that writes nothing (tests, quiet CLI runs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
