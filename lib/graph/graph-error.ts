/**
 * Graph failures as typed values. The gateway throws `GraphError`; callers switch on `kind`.
 * Mapping from Graph's `{"error":{"code","message"}}` bodies lives in ./error-mapping.ts.
 */

export type GraphErrorKind =
  | 'notFound' // 404 Request_ResourceNotFound
  | 'throttled' // 429 TooManyRequests (after the client's own retries gave up)
  | 'unavailable' // 5xx / network (after retries)
  | 'seatsExhausted' // 400 "... does not have any available licenses."
  | 'invalidUsageLocation' // 400 "... invalid usage location."
  | 'mutuallyExclusivePlans' // 400 "... are mutually exclusive."
  | 'dependentPlans' // 400 "... depends on the service plan(s) ..."
  | 'inheritedLicense' // 400 "User license is inherited from a group membership ..."
  | 'invalidSku' // 400 "License {guid} does not correspond to a valid company License."
  | 'forbidden' // 403 Authorization_RequestDenied: a missing application permission
  | 'unauthorized' // 401 InvalidAuthenticationToken
  | 'syncStateNotFound' // delta token expired or rejected (410 Gone / syncStateNotFound)
  | 'badRequest' // any other 400
  | 'unknown';

export interface GraphErrorInit {
  kind: GraphErrorKind;
  status: number;
  code: string;
  message: string;
  /** What an operator should do about it (shown in outcomes and the CLI). */
  fix: string;
  retryAfterMs?: number;
  requestId?: string;
  /**
   * A write whose answer never arrived or was a server error: Graph may or may not have applied
   * it. Whoever retries must read the object again first and send only what is still needed.
   */
  outcomeUnknown?: boolean;
  cause?: unknown;
}

export class GraphError extends Error {
  override readonly name = 'GraphError';
  readonly kind: GraphErrorKind;
  readonly status: number;
  readonly code: string;
  readonly fix: string;
  readonly retryAfterMs: number | undefined;
  readonly requestId: string | undefined;
  readonly outcomeUnknown: boolean;

  constructor(init: GraphErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.status = init.status;
    this.code = init.code;
    this.fix = init.fix;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
    this.outcomeUnknown = init.outcomeUnknown ?? false;
  }

  /** The same failure, marked as a write Graph may have applied (see `outcomeUnknown`). */
  asOutcomeUnknown(): GraphError {
    return new GraphError({
      kind: this.kind,
      status: this.status,
      code: this.code,
      message: this.message,
      fix: this.fix,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.requestId === undefined ? {} : { requestId: this.requestId }),
      outcomeUnknown: true,
      ...(this.cause === undefined ? {} : { cause: this.cause }),
    });
  }

  /** True for failures worth retrying later (throttling, outages). */
  get transient(): boolean {
    return this.kind === 'throttled' || this.kind === 'unavailable';
  }
}

export function isGraphError(e: unknown): e is GraphError {
  return e instanceof GraphError;
}
