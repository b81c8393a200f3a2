/**
 * Values of the current azd environment (`azd env get-values`), for the operator scripts: the
 * deployment's outputs (identity ids, namespace) so the operator need not copy them by hand.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** The value of `name` in the current azd environment, or undefined (no azd, no env, not set). */
export async function azdValue(name: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('azd', ['env', 'get-values', '--output', 'json']);
    const value = (JSON.parse(stdout) as Record<string, unknown>)[name];
    return typeof value === 'string' && value ? value : undefined;
  } catch {
    return undefined;
  }
}
