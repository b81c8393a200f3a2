/**
 * Cold module load of the Functions app: the esbuild bundle (dist/functions/index.js, what is
 * deployed) versus the same code unbundled (one .js file per .ts file, resolved from node_modules).
 *
 *   npx tsx bench/module-load.bench.ts [--runs 20]
 *
 * Fairness: both variants are plain JavaScript emitted by the same esbuild version with the same
 * target, loaded by plain `node` (no tsx, so no TypeScript transpiling is timed). The only
 * difference is bundling: one file versus resolving and reading every module of the app and its
 * dependencies. Each run is a fresh `node` process; the variants alternate run by run so disk cache
 * and CPU frequency drift affect both alike, and one discarded warm-up run of each comes first.
 * The child imports the entry with the settings of local.settings.example.json (the app validates
 * its settings when loaded) and reports the time the import took; the wall time of the whole
 * process (Node start-up included) is measured by the parent. No --enable-source-maps: with it Node
 * would parse the bundle's multi-megabyte map at load, a cost the host does not pay by default.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs must be an integer of at least 3');

interface Sample {
  importMs: number;
  wallMs: number;
}

function listTs(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return listTs(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

async function ensureBundle(): Promise<string> {
  const bundle = path.join(root, 'dist/functions/index.js');
  if (!existsSync(bundle)) {
    console.log('dist/functions/index.js not found; running npm run build first');
    await runToEnd(process.execPath, [path.join(root, 'scripts/build.mjs')], process.env);
  }
  return bundle;
}

/** Emits functions/ and lib/ file by file into a temp dir that sees the repo's node_modules. */
async function emitUnbundled(): Promise<{ entry: string; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ems-unbundled-'));
  const entryPoints = [...listTs(path.join(root, 'functions')), ...listTs(path.join(root, 'lib'))];
  await build({
    absWorkingDir: root,
    entryPoints,
    outdir: dir,
    outbase: root,
    bundle: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return { entry: path.join(dir, 'functions/index.js'), dir };
}

function runToEnd(command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(command)} exited with ${String(code)}:\n${err.slice(-2000)}`));
    });
  });
}

const childEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  ...(
    JSON.parse(readFileSync(path.join(root, 'local.settings.example.json'), 'utf8')) as {
      Values: Record<string, string>;
    }
  ).Values,
  LOG_LEVEL: 'silent',
};

async function loadOnce(entry: string): Promise<Sample> {
  const script = [
    'const t0 = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(entry).href)});`,
    'process.stdout.write(JSON.stringify({ importMs: performance.now() - t0 }));',
    'process.exit(0);',
  ].join('\n');
  const started = performance.now();
  const out = await runToEnd(process.execPath, ['--input-type=module', '-e', script], childEnv);
  const wallMs = performance.now() - started;
  const { importMs } = JSON.parse(out) as { importMs: number };
  return { importMs, wallMs };
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function summarize(name: string, samples: Sample[]): string {
  const imp = samples.map((s) => s.importMs).sort((a, b) => a - b);
  const wall = samples.map((s) => s.wallMs).sort((a, b) => a - b);
  const f = (n: number) => n.toFixed(1).padStart(8);
  return `${name.padEnd(10)} import median ${f(quantile(imp, 0.5))} ms  p95 ${f(quantile(imp, 0.95))} ms   process median ${f(quantile(wall, 0.5))} ms  p95 ${f(quantile(wall, 0.95))} ms`;
}

const bundle = await ensureBundle();
const unbundled = await emitUnbundled();
try {
  const variants = [
    { name: 'bundled', entry: bundle, samples: [] as Sample[] },
    { name: 'unbundled', entry: unbundled.entry, samples: [] as Sample[] },
  ];
  for (const v of variants) await loadOnce(v.entry);
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const v of order) v.samples.push(await loadOnce(v.entry));
  }
  console.log(
    `Cold module load of functions/index.ts, ${runs} fresh node processes each (${process.version})`,
  );
  for (const v of variants) console.log(summarize(v.name, v.samples));
  const [b, u] = variants.map((v) =>
    quantile(
      v.samples.map((s) => s.importMs).sort((x, y) => x - y),
      0.5,
    ),
  );
  if (b !== undefined && u !== undefined)
    console.log(`median import: bundled is ${(u / b).toFixed(1)}x faster`);
} finally {
  await rm(unbundled.dir, { recursive: true, force: true });
}
