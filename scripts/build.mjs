// `npm run build`: bundles the Functions app and the CLI with esbuild into dist/.
//
//   functions/index.ts -> dist/functions/index.js   (package.json "main"; the Functions host loads it)
//   lib/cli/entry.ts   -> dist/cli/entry.js         (bin/ems-licensing.js runs it when present)
//
// One ESM file per entry, Node 20 syntax, source maps beside it. @azure/functions-core stays
// external: the Functions host provides it at run time and it is not on npm. Bundling means the
// host loads one file instead of resolving thousands in node_modules, which is most of a cold start
// (bench/module-load.bench.ts measures it).
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// CommonJS dependencies bundled into ESM still call require() and read __dirname/__filename;
// ESM has none of them, so the bundle defines them once at the top.
const banner = [
  "import { createRequire as __emsCreateRequire } from 'node:module';",
  "import { fileURLToPath as __emsFileURLToPath } from 'node:url';",
  "import { dirname as __emsDirname } from 'node:path';",
  'const require = __emsCreateRequire(import.meta.url);',
  'const __filename = __emsFileURLToPath(import.meta.url);',
  'const __dirname = __emsDirname(__filename);',
].join('\n');

const targets = [
  {
    name: 'Functions app',
    entry: 'functions/index.ts',
    outfile: 'dist/functions/index.js',
    missing:
      'functions/index.ts is missing. It is the Functions entry point: it must import every trigger file in functions/ (package.json "main" is its bundle, dist/functions/index.js).',
  },
  {
    name: 'CLI',
    entry: 'lib/cli/entry.ts',
    outfile: 'dist/cli/entry.js',
    // Read at run time beside the module that names it (lib/simulator/tenant-file.ts resolves
    // './sample-tenant.json' from import.meta.url, which in the bundle is dist/cli/entry.js).
    assets: [['lib/simulator/sample-tenant.json', 'dist/cli/sample-tenant.json']],
    missing:
      'lib/cli/entry.ts is missing. It is the CLI process entry that bin/ems-licensing.js runs (as dist/cli/entry.js once built).',
  },
];

const missing = targets.filter((t) => !existsSync(path.join(root, t.entry)));
if (missing.length > 0) {
  for (const t of missing) console.error(`build: ${t.missing}`);
  process.exit(1);
}

await Promise.all(
  targets.map((t) => rm(path.join(root, path.dirname(t.outfile)), { recursive: true, force: true })),
);

try {
  const results = await Promise.all(
    targets.map((t) =>
      build({
        absWorkingDir: root,
        entryPoints: [t.entry],
        outfile: t.outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        sourcemap: true,
        external: ['@azure/functions-core'],
        banner: { js: banner },
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
      await mkdir(path.join(root, path.dirname(to)), { recursive: true });
      await copyFile(path.join(root, from), path.join(root, to));
    }
  }
  for (const [i, result] of results.entries()) {
    const t = targets[i];
    const bytes = result.metafile.outputs[t.outfile]?.bytes ?? 0;
    const inputs = Object.keys(result.metafile.inputs).length;
    console.log(`build: ${t.name}: ${t.outfile} (${(bytes / 1024).toFixed(0)} KiB from ${inputs} modules)`);
  }
} catch (error) {
  // esbuild has already printed the errors with file and line.
  console.error(`build failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  process.exit(1);
}
