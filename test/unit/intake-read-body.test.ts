import { describe, expect, it } from 'vitest';
import { readBodyCapped } from '../../lib/intake/index.js';

function streamOf(chunks: Uint8Array[], onCancel: () => void = () => undefined): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
    cancel: onCancel,
  });
}

describe('readBodyCapped', () => {
  it('joins the chunks of a stream within the cap', async () => {
    const res = await readBodyCapped(streamOf([Uint8Array.of(1, 2), Uint8Array.of(3)]), 3);
    expect(res.bodyTooLarge).toBe(false);
    expect([...res.body]).toEqual([1, 2, 3]);
  });

  it('stops and cancels the stream once the cap is passed', async () => {
    let cancelled = false;
    const chunks = [new Uint8Array(4), new Uint8Array(4), new Uint8Array(4)];
    const res = await readBodyCapped(
      streamOf(chunks, () => {
        cancelled = true;
      }),
      6,
    );
    expect(res).toEqual({ body: new Uint8Array(0), bodyTooLarge: true });
    expect(cancelled).toBe(true);
  });

  it('reads async iterables and treats a missing body as empty', async () => {
    async function* gen() {
      for (const byte of [9, 8]) yield await Promise.resolve(Uint8Array.of(byte));
    }
    expect([...(await readBodyCapped(gen(), 10)).body]).toEqual([9, 8]);
    expect((await readBodyCapped(gen(), 1)).bodyTooLarge).toBe(true);
    expect(await readBodyCapped(null, 10)).toEqual({ body: new Uint8Array(0), bodyTooLarge: false });
  });
});

describe('parseJsonBytes', () => {
  it('says where the JSON breaks without echoing the body', async () => {
    const { parseJsonBytes } = await import('../../lib/intake/http.js');
    const result = parseJsonBytes(new TextEncoder().encode('{"upn": ann.smith@contoso.com}'));
    expect(result.ok).toBe(false);
    const error = result.ok ? '' : result.error;
    expect(error).toMatch(/^the body is not valid JSON/);
    expect(error).not.toMatch(/ann|smith|contoso/);
  });
});
