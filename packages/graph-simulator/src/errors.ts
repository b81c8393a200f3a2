/**
 * Graph's error body and the exception handlers throw to produce it.
 * Shape: learn.microsoft.com/graph/errors — `{"error":{"code","message","innerError":{"request-id","date","client-request-id"}}}`.
 */

/** Thrown by a handler; the router turns it into Graph's JSON error response. */
export class GraphHttpError extends Error {
  override readonly name = 'GraphHttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export interface ErrorContext {
  requestId: string;
  clientRequestId: string | undefined;
  date: Date;
}

export function errorBody(code: string, message: string, ctx: ErrorContext): unknown {
  return {
    error: {
      code,
      message,
      innerError: {
        // learn.microsoft.com/graph/errors: innerError carries date, request-id, client-request-id.
        date: ctx.date.toISOString().replace(/\.\d{3}Z$/, ''),
        'request-id': ctx.requestId,
        'client-request-id': ctx.clientRequestId ?? ctx.requestId,
      },
    },
  };
}

// Shorthands for the errors the directory (Microsoft Entra) endpoints give.

/** learn.microsoft.com/graph/api/user-get: unknown id or UPN. */
export function resourceNotFound(id: string): GraphHttpError {
  return new GraphHttpError(
    404,
    'Request_ResourceNotFound',
    `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export function badRequest(message: string): GraphHttpError {
  return new GraphHttpError(400, 'Request_BadRequest', message);
}

/** learn.microsoft.com/graph/aad-advanced-queries: a query the directory does not support. */
export function unsupportedQuery(message = 'Unsupported Query.'): GraphHttpError {
  return new GraphHttpError(400, 'Request_UnsupportedQuery', message);
}
