/**
 * Reading the HTTP status out of Azure SDK errors. Checked structurally rather than with
 * `instanceof RestError`: @azure/data-tables and @azure/storage-blob may each carry their own copy
 * of @azure/core-rest-pipeline, and `instanceof` fails across copies.
 */

/** The HTTP status of an Azure SDK `RestError`, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  const status = error.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True when `error` is a RestError with one of the given statuses. */
export function hasStatus(error: unknown, ...statuses: number[]): boolean {
  const status = statusOf(error);
  return status !== undefined && statuses.includes(status);
}
