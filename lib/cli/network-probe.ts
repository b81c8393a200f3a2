/**
 * Why a URL cannot be reached, in a few words, for the one line the CLI prints. The Graph client
 * reports any network failure as "fetch failed" and keeps no socket error, so after such a failure
 * the CLI asks the network itself: does the host name resolve, and does the port accept a
 * connection?
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';

/** A short cause such as `connection refused on port 9`, or null when the URL cannot be parsed. */
export async function probeUrl(url: string, timeoutMs = 3_000): Promise<string | null> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return null;
  }
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  try {
    await lookup(host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return `the host name ${host} does not resolve (${code})`;
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (cause: string) => {
      socket.destroy();
      resolve(cause);
    };
    socket.setTimeout(timeoutMs, () =>
      done(
        `no answer from ${host}:${String(port)} within ${String(timeoutMs / 1000)} s (a firewall or proxy?)`,
      ),
    );
    socket.once('connect', () =>
      done(
        `${host}:${String(port)} accepts connections, but the request failed (TLS, or a proxy in between?)`,
      ),
    );
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(
        e.code === 'ECONNREFUSED'
          ? `connection refused: nothing listens on ${host}:${String(port)}`
          : `${e.code ?? 'error'} connecting to ${host}:${String(port)}`,
      ),
    );
  });
}
