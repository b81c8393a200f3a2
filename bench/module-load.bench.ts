/**
 * Cold module load of the Functions app, three layouts of the same code:
 *
 * - `split`: what `npm run build` ships (esbuild `splitting`: dist/functions/index.js plus chunks;
 *   the SDKs lib/app.ts loads with dynamic import() are read only when first needed);
 * - `single`: the same build as one file (`node scripts/build.mjs --no-splitting`, the layout
 *   before splitting);
 * - `unbundled`: one .js file per .ts file, dependencies resolved from node_modules.
 *
 *   npx tsx bench/module-load.bench.ts [--runs 20]
 *
 * Two figures per layout, each measured inside a fresh `node` process:
 *
 * - `register`: `import()` of the entry, which registers the six functions. The host does this at
 *   every cold start, before any invocation.
 * - `first intake`: then one POST to hr-webhook through the handler the entry registered (plain
 *   request and context objects shaped like the Functions v4 ones). Unsigned, so it answers 401
 *   without publishing; on the way it loads what every intake request needs (Table storage and the
 *   Service Bus publisher: lib/app.ts `storage()`, `intakePublisher()`), creates the tables (they
 *   exist after the first run: a 409 per table, the same few loopback round trips in every layout)
 *   against one Azurite the benchmark starts, and checks the signature. Register + first intake is
 *   the cold start the first HR or Graph notification sees.
 *
 * Both bundled layouts are built by scripts/build.mjs itself into temp folders that have no
 * node_modules, which also proves the bundles are self-contained. `@azure/functions-core` (provided
 * by the host, not on npm) is a stub found through NODE_PATH that records `registerFunction` calls,
 * so every run checks that all six functions were registered.
 *
 * Fairness: every variant is plain JavaScript from the same esbuild version and target, loaded by
 * plain `node` (no tsx). Variants rotate run by run so disk cache and CPU frequency drift affect
 * all alike; one discarded warm-up run of each comes first. The child gets the settings of
 * local.settings.example.json. No --enable-source-maps: with it Node would parse multi-megabyte
 * maps at load, a cost the host does not pay by default.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { startAzurite } from '../lib/cli/local/azurite-process.js';
import { writeFunctionsCoreStub } from '../test/support/functions-core-stub.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '20' } } });
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 3) throw new Error('--runs must be an integer of at least 3');

const EXPECTED_FUNCTIONS = [
  'graph-notifications',
  'hr-webhook',
  'license-worker',
  'subscription-keeper',
  'delta-catchup',
  'cleanup',
];

interface Variant {
  name: string;
  entry: string;
  /** Bytes of JavaScript read by `register` (entry plus static imports), when known. */
  registerBytes?: number;
  samples: Sample[];
}

interface Sample {
  registerMs: number;
  intakeMs: number;
  wallMs: number;
}

function listFiles(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return listFiles(full, suffix);
    return name.endsWith(suffix) && !name.endsWith('.d.ts') ? [full] : [];
  });
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

/**
 * Runs scripts/build.mjs into `<dir>/dist`, laid out as deployed: beside it only package.json and
 * rules.yaml (the app checks the rules file when it is loaded), no node_modules.
 */
async function buildLayout(dir: string, splitting: boolean): Promise<string> {
  await runToEnd(
    process.execPath,
    [
      path.join(root, 'scripts/build.mjs'),
      '--out',
      path.join(dir, 'dist'),
      ...(splitting ? [] : ['--no-splitting']),
    ],
    { PATH: process.env.PATH },
  );
  await writeFile(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  await copyFile(path.join(root, 'examples/rules.yaml'), path.join(dir, 'rules.yaml'));
  return path.join(dir, 'dist/functions/index.js');
}

/** Bytes of the entry and every file it imports statically (transitively), read from the output. */
function staticBytes(entry: string): number {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^(?:import|} from|export .* from) ?.*?["'](\.\/[^"']+\.js)["'];?$/gm)) {
      if (m[1]) visit(path.join(path.dirname(file), m[1]));
    }
  };
  visit(entry);
  return [...seen].reduce((sum, f) => sum + statSync(f).size, 0);
}

/** Emits functions/ and lib/ file by file into a temp dir that sees the repo's node_modules. */
async function emitUnbundled(dir: string): Promise<string> {
  const entryPoints = [
    ...listFiles(path.join(root, 'functions'), '.ts'),
    ...listFiles(path.join(root, 'lib'), '.ts'),
  ];
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
  await copyFile(path.join(root, 'examples/rules.yaml'), path.join(dir, 'rules.yaml'));
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return path.join(dir, 'functions/index.js');
}

const work = await mkdtemp(path.join(tmpdir(), 'ems-module-load-'));
const stubPath = await writeFunctionsCoreStub(path.join(work, 'stub'));
const childEnv: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  NODE_PATH: stubPath,
  ...(
    JSON.parse(readFileSync(path.join(root, 'local.settings.example.json'), 'utf8')) as {
      Values: Record<string, string>;
    }
  ).Values,
  LOG_LEVEL: 'silent',
};

/**
 * One fresh process: import the entry (register), then one hr-webhook POST through the handler
 * the entry registered, unsigned, so it loads storage and the intake publisher, creates the
 * tables if needed and answers 401 without publishing anything.
 */
async function loadOnce(v: Variant): Promise<Sample> {
  const script = `
    const t0 = performance.now();
    await import(${JSON.stringify(pathToFileURL(v.entry).href)});
    const t1 = performance.now();
    const registered = globalThis.__emsRegistered ?? new Map();
    const names = [...registered.keys()];
    const body = new Blob([JSON.stringify({ type: 'hire', employeeId: 'E1' })]).stream();
    const req = {
      method: 'POST',
      url: 'http://localhost:7071/api/hr-webhook',
      query: new URLSearchParams(),
      headers: new Headers({
        'content-type': 'application/json',
        'webhook-id': 'msg_bench',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64'),
      }),
      body,
    };
    const context = { invocationId: 'bench', functionName: 'hr-webhook', triggerMetadata: {} };
    const res = await registered.get('hr-webhook')(req, context);
    const t2 = performance.now();
    process.stdout.write(JSON.stringify({ registerMs: t1 - t0, intakeMs: t2 - t1, names, status: res.status }));
    process.exit(0);
  `;
  const started = performance.now();
  const out = await runToEnd(process.execPath, ['--input-type=module', '-e', script], childEnv);
  const wallMs = performance.now() - started;
  const r = JSON.parse(out) as Omit<Sample, 'wallMs'> & { names: string[]; status: number };
  const missing = EXPECTED_FUNCTIONS.filter((n) => !r.names.includes(n));
  if (missing.length > 0 || r.names.length !== EXPECTED_FUNCTIONS.length) {
    throw new Error(`${v.name}: registered [${r.names.join(', ')}], expected the six functions`);
  }
  if (r.status !== 401)
    throw new Error(`${v.name}: the unsigned hr-webhook request got ${r.status}, not 401`);
  return { registerMs: r.registerMs, intakeMs: r.intakeMs, wallMs };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function p95(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)] ?? Number.NaN;
}

const azurite = await startAzurite();
childEnv.STORAGE_CONNECTION_STRING = azurite.connectionString;
try {
  const splitEntry = await buildLayout(path.join(work, 'split'), true);
  const singleEntry = await buildLayout(path.join(work, 'single'), false);
  const unbundledEntry = await emitUnbundled(path.join(work, 'unbundled'));
  const variants: Variant[] = [
    { name: 'split', entry: splitEntry, registerBytes: staticBytes(splitEntry), samples: [] },
    { name: 'single', entry: singleEntry, registerBytes: statSync(singleEntry).size, samples: [] },
    { name: 'unbundled', entry: unbundledEntry, samples: [] },
  ];
  for (const v of variants) await loadOnce(v);
  for (let i = 0; i < runs; i++) {
    const order = variants.map((_, j) => variants[(i + j) % variants.length]!);
    for (const v of order) v.samples.push(await loadOnce(v));
  }

  const f = (n: number) => n.toFixed(1).padStart(7);
  console.log(
    `Cold start of the Functions app, ${runs} fresh node processes per layout (${process.version}, ` +
      `${availableParallelism()} cores); all six functions registered in every run. Medians in ms, p95 in brackets.`,
  );
  console.log(
    `${'layout'.padEnd(10)} ${'JS read at register'.padStart(19)}  ${'register'.padStart(17)}  ` +
      `${'first intake'.padStart(17)}  ${'register + intake'.padStart(17)}  ${'node process'.padStart(17)}`,
  );
  const col = (xs: number[]) => `${f(median(xs))} [${f(p95(xs))}]`;
  for (const v of variants) {
    const bytes = v.registerBytes === undefined ? 'n/a' : `${(v.registerBytes / 1024).toFixed(0)} KiB`;
    console.log(
      `${v.name.padEnd(10)} ${bytes.padStart(19)}  ${col(v.samples.map((s) => s.registerMs))}  ` +
        `${col(v.samples.map((s) => s.intakeMs))}  ${col(v.samples.map((s) => s.registerMs + s.intakeMs))}  ` +
        col(v.samples.map((s) => s.wallMs)),
    );
  }
  const by = (name: string) => variants.find((v) => v.name === name)!;
  const med = (name: string, pick: (s: Sample) => number) => median(by(name).samples.map(pick));
  const ratio = (a: string, b: string, pick: (s: Sample) => number) =>
    (med(a, pick) / med(b, pick)).toFixed(2);
  console.log(
    `single / split: register ${ratio('single', 'split', (s) => s.registerMs)}x, ` +
      `register + first intake ${ratio('single', 'split', (s) => s.registerMs + s.intakeMs)}x, ` +
      `node process ${ratio('single', 'split', (s) => s.wallMs)}x (above 1: split is faster).`,
  );
} finally {
  await azurite.stop();
  await rm(work, { recursive: true, force: true });
}
