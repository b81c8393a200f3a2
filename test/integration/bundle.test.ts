/**
 * The deployable bundle, built by scripts/build.mjs exactly as `npm run build` does, loads in a
 * fresh Node process without node_modules and registers every function; a bad rules file stops it
 * at load. (Once, both bundles failed to parse at all: nothing else would have noticed.) Local
 * tooling (the Graph simulator package, the embedded Azurite) stays out of what is deployed.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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

/** The modules a bundle was built from, read from its source maps (paths relative to the repository). */
async function bundledSources(dir: string): Promise<string[]> {
  const sources = new Set<string>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js.map'))) {
    const map = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as { sources: string[] };
    for (const source of map.sources) {
      sources.add(path.relative(root, path.resolve(dir, source)).split(path.sep).join('/'));
    }
  }
  return [...sources].sort();
}

/** Every file under `dir`, relative to it, `/`-separated. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

const LOCAL_TOOLING = /(^|\/)packages\/graph-simulator\/|(^|\/)lib\/cli\/local\/|node_modules\/azurite\//;

/** Install paths package-lock.json marks development-only (reached only from devDependencies). */
async function devOnlyPackages(): Promise<Set<string>> {
  const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return new Set(
    Object.entries(lock.packages)
      .filter(([, entry]) => entry.dev === true)
      .map(([where]) => where),
  );
}

/** `node_modules/a/node_modules/@b/c/x.js` → `node_modules/a/node_modules/@b/c`; null for app code. */
function packageOf(source: string): string | null {
  return /^(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+/.exec(source)?.[0].slice(0, -1) ?? null;
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

  it('leave the Graph simulator and the embedded Azurite out of the Functions bundle; the CLI bundle has the simulator', async () => {
    const functions = await bundledSources(path.join(work, 'app/dist/functions'));
    const cli = await bundledSources(path.join(work, 'app/dist/cli'));
    expect(functions).toContain('lib/app.ts');
    expect(functions.filter((s) => LOCAL_TOOLING.test(s))).toEqual([]);
    // No development dependency at all (tooling, or an optional module only a dev tool installed).
    const devOnly = await devOnlyPackages();
    expect(devOnly.has('node_modules/azurite')).toBe(true);
    expect(functions.filter((s) => devOnly.has(packageOf(s) ?? ''))).toEqual([]);
    expect(functions.some((s) => packageOf(s) === 'node_modules/@azure/data-tables')).toBe(true);
    // The same pattern finds the simulator where it belongs, so the check above can fail.
    expect(cli).toContain('packages/graph-simulator/src/index.ts');
    expect(cli).toContain('lib/cli/local/local-storage.ts');
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

  it('deploys dist/functions, never the CLI bundle, the sample tenant, the sources or the workspace packages', async () => {
    const built = (await filesUnder(path.join(work, 'app/dist'))).map((f) => `dist/${f}`);
    const deployed = await filesUnder(path.join(work, 'deploy'));
    expect(built).toContain('dist/cli/sample-tenant.json');
    expect(deployed).toContain('dist/functions/index.js');
    expect(deployed.filter((f) => !f.startsWith('dist/functions/'))).toEqual([
      'host.json',
      'package.json',
      'rules.yaml',
    ]);
    expect(
      deployed.filter((f) => /^dist\/cli\/|^packages\/|sample-tenant|^lib\/|node_modules/.test(f)),
    ).toEqual([]);
    // Nor any development tooling or its settings.
    const devTooling =
      /^(bin|scripts|bench|test|docs|infra|examples)\/|^\.(prettier|nvmrc|gitignore|editorconfig)|^(eslint\.config|vitest\.config|tsconfig)|^azure\.yaml$|^rules\.schema\.json$/;
    expect(deployed.filter((f) => devTooling.test(f))).toEqual([]);
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
