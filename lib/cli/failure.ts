/**
 * What the CLI prints when a command cannot go on: one line with the cause and the fix, and the
 * exit code for that kind of problem (exit-codes.ts). The stack trace and the full cause chain are
 * for `--debug` only. Per-user failures are not here: they are outcomes, printed per user.
 *
 * The table of these lines is docs/cli.md ("When something goes wrong"); each row has a test in
 * test/integration/cli-failures.test.ts.
 */
import { ConfigError } from '../config.js';
import { isGraphError, type GraphError } from '../graph/graph-error.js';
import { RulesValidationError } from '../licensing/compile.js';
import { RulesError } from '../rules/rules-error.js';
import { EXIT, type ExitCode } from './exit-codes.js';

export interface CliFailure {
  /** One line (rules and settings problems may list one problem per line). */
  message: string;
  exitCode: ExitCode;
}

/** Where the CLI was pointed, to name it in the message. */
export interface FailureContext {
  graphUrl: string | null;
  tenantId: string | undefined;
  /** What a failed network call to Graph met, from {@link probeUrl}: "connection refused" etc. */
  networkCause?: string | null;
}

/** Storage could not be reached (Azurite not starting, an endpoint that does not answer). */
export class StorageUnavailableError extends Error {
  override readonly name = 'StorageUnavailableError';
}

// Entra ID's answers that mean "this tenant, not that one": user not in the tenant (AADSTS50020),
// tenant not found (AADSTS90002, 900023), and the Azure CLI's own advice to sign in to it.
const WRONG_TENANT =
  /AADSTS(50020|90002|900023|50128|500011)\b|tenant[^.\n]{0,80}(not found|does not exist|is not valid|invalid)|does not exist in tenant|az login --tenant/i;
// No sign-in at all on this machine: no Azure CLI, or one that is not signed in.
const NOT_SIGNED_IN =
  /Azure CLI could not be found|Please run 'az login'|az login|not logged in|No accounts were found|CredentialUnavailable/i;

const tenantText = (ctx: FailureContext) =>
  ctx.tenantId ? `tenant ${ctx.tenantId}` : 'the tenant (set AZURE_TENANT_ID to choose one)';
const loginHint = (ctx: FailureContext) => `az login --tenant ${ctx.tenantId ?? '<tenant id>'}`;

function signInFailure(e: GraphError, ctx: FailureContext): CliFailure {
  if (WRONG_TENANT.test(e.message)) {
    return {
      message: `Signed in to Azure, but not to ${tenantText(ctx)}: Entra ID refused the sign-in for it. Run \`${loginHint(ctx)}\` with an account of that tenant, or correct AZURE_TENANT_ID.`,
      exitCode: EXIT.unreachable,
    };
  }
  if (NOT_SIGNED_IN.test(e.message)) {
    const noCli = /Azure CLI could not be found/i.test(e.message);
    return {
      message: `Not signed in to Azure: ${
        noCli
          ? 'the Azure CLI is not installed and no other credential is set up'
          : 'no credential is available'
      }. Run \`${loginHint(ctx)}\`${noCli ? ' (install the Azure CLI from https://aka.ms/azure-cli)' : ''} and try again.`,
      exitCode: EXIT.unreachable,
    };
  }
  return {
    message: `Could not sign in to Azure for ${ctx.graphUrl ?? 'Microsoft Graph'}: the token service did not answer. Check \`az account show\` and your network, then try again.`,
    exitCode: EXIT.unreachable,
  };
}

function graphFailure(e: GraphError, ctx: FailureContext): CliFailure {
  const where = ctx.graphUrl ?? 'Microsoft Graph';
  if (e.status === -1 && /Credential|Authentication/i.test(e.code)) return signInFailure(e, ctx);
  if (e.status === -1 && e.kind === 'unavailable') {
    return {
      message: `Cannot reach Microsoft Graph at ${where}${ctx.networkCause ? ` (${ctx.networkCause})` : ''}. Check --graph-url or GRAPH_BASE_URL, and your network or proxy.`,
      exitCode: EXIT.unreachable,
    };
  }
  if (e.kind === 'unauthorized') {
    return {
      message: `Microsoft Graph at ${where} refused the sign-in (HTTP 401 ${e.code}): the token is for another tenant or cloud. Run \`${loginHint(ctx)}\`, and check that --graph-url matches the tenant's cloud.`,
      exitCode: EXIT.unreachable,
    };
  }
  if (e.kind === 'forbidden') {
    return {
      message: `Microsoft Graph refused to read (HTTP 403 ${e.code}): the signed-in account may not read users and licenses. Sign in with an account that can (Global Reader is enough for plan, explain, validate and seats; apply needs License Administrator).`,
      exitCode: EXIT.unreachable,
    };
  }
  if (e.transient) {
    return {
      message: `Microsoft Graph at ${where} is not answering just now (HTTP ${String(e.status)} ${e.code}). Try again in a few minutes; if it persists, check Microsoft 365 service health.`,
      exitCode: EXIT.unreachable,
    };
  }
  return {
    message: `Microsoft Graph refused a request (HTTP ${String(e.status)} ${e.code}): ${e.message} Fix: ${e.fix}`,
    exitCode: EXIT.unreachable,
  };
}

/** The line and exit code for anything a command threw. */
export function describeFailure(error: unknown, ctx: FailureContext): CliFailure {
  // Rules that do not fit the tenant are 1, as in `validate`; a file or setting that is wrong, 2.
  if (error instanceof RulesValidationError) return { message: error.message, exitCode: EXIT.failed };
  if (error instanceof RulesError || error instanceof ConfigError) {
    return { message: error.message, exitCode: EXIT.usage };
  }
  if (isGraphError(error)) return graphFailure(error, ctx);
  if (error instanceof StorageUnavailableError) return { message: error.message, exitCode: EXIT.unreachable };
  const message = error instanceof Error ? error.message : String(error);
  return {
    message: `ems-licensing failed unexpectedly: ${message.split('\n')[0] ?? message}. Run the command again with --debug for the details, and report them.`,
    exitCode: EXIT.internal,
  };
}

/** The error's stack and causes, for `--debug`. */
export function debugDetail(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 8; depth++) {
    if (current instanceof Error) {
      lines.push(
        `${depth === 0 ? '' : 'Caused by: '}${current.stack ?? `${current.name}: ${current.message}`}`,
      );
      current = current.cause;
    } else {
      lines.push(
        `${depth === 0 ? '' : 'Caused by: '}${typeof current === 'string' ? current : JSON.stringify(current)}`,
      );
      break;
    }
  }
  return lines.join('\n');
}
