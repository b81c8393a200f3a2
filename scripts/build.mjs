// `npm run build`: bundles the Functions app and the CLI with esbuild into dist/.
//
//   functions/index.ts -> dist/functions/index.js   (package.json "main"; the Functions host loads it)
//                         + dist/functions/*-HASH.js (chunks it imports, statically or on first use)
//   lib/cli/entry.ts   -> dist/cli/entry.js         (bin/ems-licensing.js runs it when present)
//
// ESM, Node 20 syntax (Azure runs Node 22; an admin's machine may still have 20), source maps beside each file. @azure/functions-core stays external: the
// Functions host provides it at run time and it is not on npm. Bundling means the host loads a few
// files instead of resolving thousands in node_modules, which is most of a cold start.
//
// The Functions app is split (esbuild `splitting`): lib/app.ts loads the Graph client, Table/Blob
// storage and Service Bus with dynamic import(), so those SDKs go into chunks that are read only when
// a function first needs them. Registering the six functions at cold start then reads ~1.4 MB
// instead of the whole 5.6 MB, and the HTTP intake never loads the Graph client. The chunks sit
// flat beside index.js, so import.meta.url-relative paths (lib/app.ts's APP_ROOT) are the same in
// every chunk. Measured in BENCHMARKS.md (bench/module-load.bench.ts). The CLI needs everything on
// every run, so it stays one file.
//
// The Functions bundle must not carry local tooling: the Graph simulator (packages/graph-simulator,
// which only the CLI's sample mode and the tests use) and the embedded Azurite (lib/cli/local/).
// Nothing in the app imports them today; the build fails, naming the module, if that changes. More
// generally it fails if the Functions bundle takes in any package that package-lock.json marks as
// a development dependency (`"dev": true`: only devDependencies reach it), since that is tooling.
// The CLI bundle carries the simulator (sample mode) and is not deployed (.funcignore: dist/cli/).
//
// Options (for bench/module-load.bench.ts): `--out DIR` writes DIR/functions and DIR/cli instead
// of dist/; `--no-splitting` builds the Functions app as one file (the previous layout).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: { out: { type: 'string', default: 'dist' }, 'no-splitting': { type: 'boolean', default: false } },
});
const out = path.resolve(root, options.out);
const splitFunctions = !options['no-splitting'];

// CommonJS dependencies bundled into ESM still call require() and read __dirname/__filename;
// ESM has none of them, so every output file defines them once at the top. Only `require` keeps
// its name (esbuild's own __require shim looks it up); the other two get names no dependency uses,
// and `define` points the free `__filename`/`__dirname` of CommonJS code at them. Declaring a
// top-level `__filename` in the banner broke the bundle as soon as an ESM dependency declared its
// own (@azure/storage-common's crc64.js: "Identifier '__filename' has already been declared").
const banner = [
  "import { createRequire as __emsCreateRequire } from 'node:module';",
  "import { fileURLToPath as __emsFileURLToPath } from 'node:url';",
  "import { dirname as __emsPathDirname } from 'node:path';",
  'const require = __emsCreateRequire(import.meta.url);',
  'const __emsFilename = __emsFileURLToPath(import.meta.url);',
  'const __emsDirname = __emsPathDirname(__emsFilename);',
].join('\n');

const targets = [
  {
    name: 'Functions app',
    entry: 'functions/index.ts',
    outdir: 'functions',
    outfile: 'functions/index.js',
    splitting: splitFunctions,
    noDevDependencies: true,
    forbidden: [
      {
        pattern: /(^|\/)packages\/graph-simulator\/|@ems-licensing\/graph-simulator/,
        what: 'the Graph simulator',
      },
      { pattern: /(^|\/)lib\/cli\/local\/|node_modules\/azurite\//, what: 'the embedded Azurite' },
    ],
    missing:
      'functions/index.ts is missing. It is the Functions entry point: it must import every trigger file in functions/ (package.json "main" is its bundle, dist/functions/index.js).',
  },
  {
    name: 'CLI',
    entry: 'lib/cli/entry.ts',
    outdir: 'cli',
    outfile: 'cli/entry.js',
    splitting: false,
    // Read at run time beside the module that names it (the simulator's src/tenant-file.ts
    // resolves './sample-tenant.json' from import.meta.url, which in the bundle is dist/cli/entry.js).
    assets: [['packages/graph-simulator/src/sample-tenant.json', 'cli/sample-tenant.json']],
    missing:
      'lib/cli/entry.ts is missing. It is the CLI process entry that bin/ems-licensing.js runs (as dist/cli/entry.js once built).',
  },
];

const missing = targets.filter((t) => !existsSync(path.join(root, t.entry)));
if (missing.length > 0) {
  for (const t of missing) console.error(`build: ${t.missing}`);
  process.exit(1);
}

await Promise.all(targets.map((t) => rm(path.join(out, t.outdir), { recursive: true, force: true })));

const rel = (p) => path.relative(root, p) || '.';

/** Install paths (`node_modules/x`, `node_modules/y/node_modules/x`) npm marks development-only. */
const devOnly = new Set(
  Object.entries(JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')).packages)
    .filter(([where, entry]) => where !== '' && entry.dev === true)
    .map(([where]) => where),
);
/** The install path of the package a bundled module comes from, or null for the app's own code. */
function packageOf(input) {
  const m = /^(?:node_modules\/(?:@[^/]+\/)?[^/]+\/)+/.exec(input);
  return m ? m[0].slice(0, -1) : null;
}
const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`;

try {
  const results = await Promise.all(
    targets.map((t) =>
      build({
        absWorkingDir: root,
        entryPoints: [t.entry],
        ...(t.splitting
          ? {
              outdir: path.join(out, t.outdir),
              splitting: true,
              entryNames: '[name]',
              chunkNames: '[name]-[hash]',
            }
          : { outfile: path.join(out, t.outfile) }),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: true,
        // `debug` (inside rhea and the proxy agents) requires `supports-color` in a try/catch, to
        // colour its output when it is there. Here it is there only as eslint's, a development
        // dependency, so bundling it would make the bundle depend on which dev tools are installed;
        // left external, the require fails in Azure and debug goes on without colours.
        external: ['@azure/functions-core', 'supports-color'],
        banner: { js: banner },
        define: { __filename: '__emsFilename', __dirname: '__emsDirname' },
        metafile: true,
        logLevel: 'warning',
      }),
    ),
  );
  for (const t of targets) {
    for (const [from, to] of t.assets ?? []) {
      if (!existsSync(path.join(root, from))) {
        console.error(`build: ${from} is missing; the ${t.name} reads it at run time (copied to ${to}).`);
        process.exit(1);
      }
      await mkdir(path.dirname(path.join(out, to)), { recursive: true });
      await copyFile(path.join(root, from), path.join(out, to));
    }
  }
  for (const [i, result] of results.entries()) {
    const t = targets[i];
    if (t.noDevDependencies) {
      const dev = [
        ...new Set(
          Object.keys(result.metafile.inputs)
            .map(packageOf)
            .filter((p) => p && devOnly.has(p)),
        ),
      ];
      if (dev.length > 0) {
        console.error(
          `build: the ${t.name} must not contain development dependencies, but it bundles ${dev.slice(0, 3).join(', ')}. Find the import from the app's code and remove it, or make the package a dependency if the app needs it.`,
        );
        await rm(path.join(out, t.outdir), { recursive: true, force: true });
        process.exit(1);
      }
    }
    for (const { pattern, what } of t.forbidden ?? []) {
      const found = Object.keys(result.metafile.inputs).filter((input) => pattern.test(input));
      if (found.length > 0) {
        console.error(
          `build: the ${t.name} must not contain ${what} (local tooling), but it bundles ${found.slice(0, 3).join(', ')}. Find the import from the app's code and remove it.`,
        );
        // Leave no bundle behind that a deploy could pick up.
        await rm(path.join(out, t.outdir), { recursive: true, force: true });
        process.exit(1);
      }
    }
    const entry = path.join(out, t.outfile);
    const js = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
    const entryBytes = js.find(([file]) => path.resolve(root, file) === entry)?.[1].bytes ?? 0;
    const totalBytes = js.reduce((sum, [, o]) => sum + o.bytes, 0);
    const inputs = Object.keys(result.metafile.inputs).length;
    const chunks = js.length > 1 ? ` + ${js.length - 1} chunks (${kib(totalBytes)} in all)` : '';
    console.log(`build: ${t.name}: ${rel(entry)} (${kib(entryBytes)}${chunks}) from ${inputs} modules`);
  }
} catch (error) {
  // esbuild has already printed the errors with file and line.
  console.error(`build failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exit(1);
}
