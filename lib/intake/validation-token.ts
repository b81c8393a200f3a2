/**
 * The subscription validation handshake. Graph POSTs `notificationUrl?validationToken=...` and
 * expects, within 10 s, 200 with `text/plain` and the URL-decoded token as the body
 * (learn.microsoft.com/graph/change-notifications-delivery-webhooks, "Notification endpoint
 * validation"). Echoing a query parameter is a reflected-XSS spot, so the echo is restricted.
 */
import { jsonResponse, textResponse, type IntakeResponse } from './http.js';

/**
 * Longest token echoed. Graph documents the token as opaque; the ones it sends read
 * "Validation: Testing client application reachability for subscription Request-Id: <guid>"
 * (about 120 characters). 1024 leaves ample room and keeps an attacker from making us reflect
 * large strings.
 */
export const MAX_VALIDATION_TOKEN_LENGTH = 1024;

/**
 * What Graph's tokens are made of (letters, digits, space, `:` and `-`), plus the URL-safe and
 * base64 punctuation an opaque token could reasonably use. None of `<>"'&;()` can pass, so the echo
 * cannot become markup or script even if a client ignored the content type.
 */
const SAFE_TOKEN = /^[A-Za-z0-9 ._~:+/=-]+$/;

/** Why a token is refused, or null when it can be echoed. */
export function validationTokenProblem(token: string): string | null {
  if (token.length === 0) return 'validationToken is empty';
  if (token.length > MAX_VALIDATION_TOKEN_LENGTH) {
    return `validationToken is longer than ${MAX_VALIDATION_TOKEN_LENGTH} characters`;
  }
  if (!SAFE_TOKEN.test(token)) return 'validationToken holds characters outside the accepted set';
  return null;
}

/**
 * Answers the handshake. `token` is already URL-decoded (URLSearchParams decodes `%3a` and `+`).
 * No I/O: the answer must be immediate.
 */
export function answerValidation(token: string): IntakeResponse {
  const problem = validationTokenProblem(token);
  return problem ? jsonResponse(400, { error: problem }) : textResponse(200, token);
}
