/**
 * Checks the shared access signature a client puts to the test broker's `$cbs` node, the way
 * Service Bus does: `SharedAccessSignature sr=<url-encoded audience>&sig=<url-encoded base64
 * HMAC-SHA256 of "sr\nse">&se=<unix expiry>&skn=<key name>` (the form `@azure/core-amqp` builds
 * in `createSasTokenProvider`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SasCheck = { ok: true; audience: string } | { ok: false; reason: string };

export function verifySasToken(
  token: unknown,
  expected: { keyName: string; key: string; audience: string; now: Date },
): SasCheck {
  if (typeof token !== 'string' || !token.startsWith('SharedAccessSignature ')) {
    return { ok: false, reason: 'the token is not a SharedAccessSignature' };
  }
  const fields = new Map<string, string>();
  for (const part of token.slice('SharedAccessSignature '.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return { ok: false, reason: 'the token lacks sr, sig, se or skn' };
  }
  if (decodeURIComponent(skn) !== expected.keyName) {
    return { ok: false, reason: `unknown key name '${decodeURIComponent(skn)}'` };
  }
  const audience = decodeURIComponent(sr);
  if (audience !== expected.audience) {
    return { ok: false, reason: `the token is for '${audience}', not '${expected.audience}'` };
  }
  if (!/^\d+$/.test(se) || Number(se) * 1000 <= expected.now.getTime()) {
    return { ok: false, reason: 'the token has expired' };
  }
  const want = createHmac('sha256', expected.key).update(`${sr}\n${se}`).digest();
  const got = Buffer.from(decodeURIComponent(sig), 'base64');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    return { ok: false, reason: 'the signature does not match the key' };
  }
  return { ok: true, audience };
}
