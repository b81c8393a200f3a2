/**
 * The CLI's sample tenant across runs: `apply` against the bundled sample changes it, and the next
 * `plan` or `explain` should see those changes. The state is a tenant file in a local folder.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadSampleTenant, loadTenantFile, type TenantFile } from './tenant-file.js';
import type { Simulator } from './types.js';

/** The saved state when there is one (and `reset` is not asked for), else the bundled sample. */
export async function loadSampleState(
  statePath: string,
  options: { reset?: boolean } = {},
): Promise<{ tenant: TenantFile; fromSaved: boolean }> {
  if (options.reset !== true && existsSync(statePath)) {
    return { tenant: await loadTenantFile(statePath), fromSaved: true };
  }
  return { tenant: await loadSampleTenant(), fromSaved: false };
}

/** Writes the simulator's current tenant to `statePath` (atomically: temp file, then rename). */
export async function saveSampleState(statePath: string, simulator: Simulator): Promise<void> {
  await mkdir(path.dirname(statePath), { recursive: true });
  const temp = `${statePath}.${String(process.pid)}.tmp`;
  await writeFile(temp, `${JSON.stringify(simulator.tenant.exportTenant(), null, 2)}\n`, 'utf8');
  await rename(temp, statePath);
}
