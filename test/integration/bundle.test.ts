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

describe('the deployment package (scripts/stage-deployment.mjs, what azd zips)', () => {
  it('holds the bundle, host.json, rules.yaml and a package.json without dependencies, and loads as deployed', async () => {
    await copyFile(path.join(root, 'examples/rules.yaml'), path.join(work, 'rules.yaml'));
    const staged = await run([
      path.join(root, 'scripts/stage-deployment.mjs'),
      '--from',
      path.join(work, 'app/dist'),
      '--out',
      path.join(work, 'deploy'),
      '--rules',
      path.join(work, 'rules.yaml'),
    ]);
    expect(staged.code, staged.err).toBe(0);

    const { readdir, readFile } = await import('node:fs/promises');
    expect((await readdir(path.join(work, 'deploy'))).sort()).toEqual([
      'dist',
      'host.json',
      'package.json',
      'rules.yaml',
    ]);
    const bundle = await readdir(path.join(work, 'deploy/dist/functions'));
    expect(bundle.every((f) => f.endsWith('.js') || f.endsWith('.js.map'))).toBe(true);
    expect(bundle).toContain('index.js');
    const pkg = JSON.parse(await readFile(path.join(work, 'deploy/package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(pkg).toEqual({
      name: 'ems-licensing',
      version: expect.any(String) as unknown,
      private: true,
      type: 'module',
      main: 'dist/functions/index.js',
    });

    const res = await run([
      '--input-type=module',
      '-e',
      importEntry(path.join(work, 'deploy/dist/functions/index.js')),
    ]);
    expect(res.err).toBe('');
    expect(JSON.parse(res.out.trim().split('\n').pop() ?? '[]')).toHaveLength(6);
  });

  it('refuses to stage without a rules file, saying where to write it', async () => {
    const res = await run([
      path.join(root, 'scripts/stage-deployment.mjs'),
      '--from',
      path.join(work, 'app/dist'),
      '--out',
      path.join(work, 'deploy2'),
      '--rules',
      path.join(work, 'no-such-rules.yaml'),
    ]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/no-such-rules\.yaml is missing: the app loads its rules from it at start-up/);
  });
});
