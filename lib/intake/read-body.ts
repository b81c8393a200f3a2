/** Reading a request body with a size cap, for the HTTP triggers. */

/** The body, or an empty one with `bodyTooLarge` set; spreads straight into an `IntakeRequest`. */
export interface CappedBody {
  body: Uint8Array;
  bodyTooLarge: boolean;
}

/**
 * Reads at most `maxBytes` from a web `ReadableStream` (what `HttpRequest.body` is) or any async
 * iterable of byte chunks. Stops reading — and cancels the stream — as soon as the cap is passed,
 * so an oversized upload never sits in memory whole.
 */
export async function readBodyCapped(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null | undefined,
  maxBytes: number,
): Promise<CappedBody> {
  if (!source) return { body: new Uint8Array(0), bodyTooLarge: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  const take = (chunk: Uint8Array): boolean => {
    total += chunk.byteLength;
    if (total > maxBytes) return false;
    chunks.push(chunk);
    return true;
  };

  if ('getReader' in source) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!take(value)) {
          await reader.cancel('body too large');
          return { body: new Uint8Array(0), bodyTooLarge: true };
        }
      }
    } finally {
      reader.releaseLock();
    }
  } else {
    // Leaving a for-await loop early calls the iterator's return(), which closes the source.
    for await (const chunk of source) {
      if (!take(chunk)) return { body: new Uint8Array(0), bodyTooLarge: true };
    }
  }

  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { body, bodyTooLarge: false };
}
