/**
 * The CLI with nothing configured (the README's quick start) on a machine where Azurite, a
 * development dependency, is not installed: `plan` works, `apply` stops before changing anything
 * and says what to do. (Where Azurite is installed, cli.test.ts and store-local.test.ts cover it.)
 * And where the CLI keeps that local state: under the folder it runs in, read when it starts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../lib/cli/command-table.js';
import { AZURITE_MISSING_MESSAGE } from '../../lib/cli/local/local-storage.js';
import { main } from '../../lib/cli/main.js';
import { createCliRuntime } from '../../lib/cli/runtime.js';
import { silentLogger } from '../../lib/log.js';
import { recordingIo } from '../support/engine-harness.js';

const folders: string[] = [];
afterAll(async () => {
  for (const f of folders) await rm(f, { recursive: true, force: true });
});

describe('no storage configured and no Azurite installed', () => {
  it('plan runs; apply changes nothing, exits 2 and says how to get storage', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'ems-cli-noazurite-'));
    folders.push(cwd);
    const run = async (...argv: string[]) => {
      const io = recordingIo();
      // No GRAPH_BASE_URL, no storage: the bundled sample tenant, as `npm start` runs it.
      const code = await main(argv, { LOG_LEVEL: 'warn' }, io, { cwd, azuriteEntry: null });
      return { code, io };
    };

    const before = await run('plan', '--json');
    expect(before.code).toBe(0);
    const wouldChange = before.io
      .stdoutLines()
      .filter((l) => (JSON.parse(l) as { actions: string[] }).actions.length > 0);
    expect(wouldChange.length).toBeGreaterThan(0);

    const apply = await run('apply');
    expect(apply.code).toBe(2);
    expect(apply.io.stderrText()).toContain(`${AZURITE_MISSING_MESSAGE}\n`);
    expect(apply.io.stderrText()).not.toContain('Recorded');
    expect(apply.io.stdoutText()).toBe('');

    // The sample tenant is as it was: the same plan again.
    const after = await run('plan', '--json');
    expect(after.code).toBe(0);
    expect(after.io.stdoutLines()).toEqual(before.io.stdoutLines());
  }, 120_000);
});

describe('the CLI runtime', () => {
  it('takes relative paths and its .local folder from the folder it is given, when it is created', async () => {
    const cwd = await mkdtemp(path.join(tmpdir(), 'ems-cli-cwd-'));
    folders.push(cwd);
    const notices: string[] = [];
    const runtime = await createCliRuntime(
      parseCliArgs(['plan', '--rules', 'team/rules.yaml']),
      {},
      (line) => notices.push(line),
      silentLogger(),
      { cwd },
    );
    try {
      expect(runtime.rulesPath).toBe(path.join(cwd, 'team', 'rules.yaml'));
      expect(runtime.sample).toBe(true);
    } finally {
      await runtime.close({ persistSample: true });
    }
    // The sample tenant's state is kept under that folder, not under the process's.
    const saved = await readFile(path.join(cwd, '.local', 'sample-tenant.json'), 'utf8');
    expect((JSON.parse(saved) as { users: unknown[] }).users).toHaveLength(300);
  });
});
