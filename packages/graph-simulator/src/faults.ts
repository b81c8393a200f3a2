/**
 * Injected throttling and server errors. Bodies follow learn.microsoft.com/graph/throttling
 * (429 `TooManyRequests` with `Retry-After` in seconds) and learn.microsoft.com/graph/errors
 * (500 `generalException`, 502 `badGateway`, 503 `serviceNotAvailable`, 504 `gatewayTimeout`).
 */
import { GraphHttpError } from './errors.js';
import type { FaultSpec, RequestKind, SimulatorFaults } from './types.js';

const FAULT_CODES: Record<FaultSpec['status'], { code: string; message: string }> = {
  429: {
    code: 'TooManyRequests',
    message: 'Too many requests. Please try again later.',
  },
  500: { code: 'generalException', message: 'An unspecified error has occurred.' },
  502: { code: 'badGateway', message: 'The server received an invalid response from an upstream server.' },
  503: {
    code: 'serviceNotAvailable',
    message:
      'The service is temporarily unavailable for maintenance or is overloaded. Please try again later.',
  },
  504: {
    code: 'gatewayTimeout',
    message: 'The server did not receive a timely response from an upstream server.',
  },
};

export class Faults implements SimulatorFaults {
  #queue: FaultSpec[] = [];

  inject(fault: FaultSpec): void {
    if (!Number.isInteger(fault.times) || fault.times < 1) {
      throw new Error(`FaultSpec.times must be a positive integer, got ${String(fault.times)}`);
    }
    this.#queue.push({ ...fault });
  }

  clear(): void {
    this.#queue = [];
  }

  pending(): FaultSpec[] {
    return this.#queue.map((f) => ({ ...f }));
  }

  /** Consumes one use of the first fault matching `kind`, returning the error to answer with. */
  take(kind: RequestKind): GraphHttpError | undefined {
    const index = this.#queue.findIndex((f) => f.kind === undefined || f.kind === kind);
    const fault = this.#queue[index];
    if (fault === undefined) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#queue.splice(index, 1);
    const { code, message } = FAULT_CODES[fault.status];
    const headers: Record<string, string> = {};
    if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
    return new GraphHttpError(fault.status, code, message, headers);
  }
}
