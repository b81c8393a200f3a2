/**
 * The deployable bundle, built by scripts/build.mjs exactly as `npm run build` does, loads in a
 * fresh Node process without node_modules and registers every function; a bad rules file stops it
 * at load. (Once, both bundles failed to parse at all: nothing else would have noticed.)
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFunctionsCoreStub } from '../support/functions-core-stub.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let work: string;
let stub: string;

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: work,
      env: { PATH: process.env.PATH, NODE_PATH: stub, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const importEntry = (entry: string) => `
  await import(${JSON.stringify(pathToFileURL(entry).href)});
  console.log(JSON.stringify([...(globalThis.__emsRegistered ?? new Map()).keys()].sort()));
`;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'ems-bundle-'));
  stub = await writeFunctionsCoreStub(path.join(work, 'stub'));
  const build = await run([path.join(root, 'scripts/build.mjs'), '--out', path.join(work, 'app/dist')]);
  expect(build.code, build.err).toBe(0);
  // Laid out as deployed: package.json and rules.yaml beside dist/, no node_modules.
  await writeFile(path.join(work, 'app/package.json'), JSON.stringify({ type: 'module' }));
}, 120_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the built bundles', () => {
  it('register all six functions from dist/functions/index.js with no node_modules', async () => {
    await copyFile(path.join(root, 'examples/rules.yaml'), path.join(work, 'app/rules.yaml'));
    const res = await run([
      '--input-type=module',
      '-e',
      importEntry(path.join(work, 'app/dist/functions/index.js')),
    ]);
    expect(res.err).toBe('');
    expect(JSON.parse(res.out.trim().split('\n').pop() ?? '[]')).toEqual([
      'cleanup',
      'delta-catchup',
      'graph-notifications',
      'hr-webhook',
      'license-worker',
      'subscription-keeper',
    ]);
  });

  it('refuse to load with a bad rules file, naming its line', async () => {
    await writeFile(
      path.join(work, 'app/rules.yaml'),
      'version: 1\nrules:\n  - name: all\n    when: { atribute: userType, equals: Member }\n    license: { sku: EMS }\n',
    );
    const res = await run([
      '--input-type=module',
      '-e',
      importEntry(path.join(work, 'app/dist/functions/index.js')),
    ]);
    expect(res.code).not.toBe(0);
    expect(res.err).toMatch(/rules\.yaml:4:/);
  });

  it('run the CLI bundle', async () => {
    const res = await run([path.join(work, 'app/dist/cli/entry.js'), '--help']);
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/Usage: ems-licensing <command>/);
  });
});
