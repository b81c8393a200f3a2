// Stages the deployment package in dist/deploy: what the Function App runs, and nothing else.
//
//   dist/deploy/host.json
//   dist/deploy/package.json           name, version, "type": "module", "main": "dist/functions/index.js"; no dependencies
//   dist/deploy/rules.yaml             the rules the app loads (RULES_PATH, relative to the app root)
//   dist/deploy/dist/functions/*.js    the esbuild bundle (npm run build) and its source maps
//
// azd runs it as the `prepackage` hook (azure.yaml) after `npm run build`, and zips this folder
// (`dist: dist/deploy`). The build is local (`remoteBuild: false`): the bundle carries every
// dependency except @azure/functions-core, which the Functions host provides (and supports-color,
// which debug only tries to load), so the package needs
// no node_modules, and a remote build (Oryx: npm install, npm run build) would only install the
// dependency tree in Azure and then fail, as the sources are not in the package.
//
// Options: --from DIR (the build output, default dist), --out DIR (default dist/deploy),
// --rules FILE (default rules.yaml).
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: options } = parseArgs({
  options: {
    from: { type: 'string', default: 'dist' },
    out: { type: 'string', default: 'dist/deploy' },
    rules: { type: 'string', default: 'rules.yaml' },
  },
});
const from = path.resolve(root, options.from);
const out = path.resolve(root, options.out);
const rules = path.resolve(root, options.rules);
const rel = (p) => path.relative(root, p) || '.';

function fail(message) {
  console.error(`stage-deployment: ${message}`);
  process.exit(1);
}

const bundle = path.join(from, 'functions');
if (!existsSync(path.join(bundle, 'index.js'))) {
  fail(
    `${rel(path.join(bundle, 'index.js'))} is missing: run \`npm run build\` first (azd runs it before this hook).`,
  );
}
if (!existsSync(rules)) {
  fail(
    `${rel(rules)} is missing: the app loads its rules from it at start-up and does not start without them. Write it (docs/operations.md, step 2; examples/rules.yaml is a start).`,
  );
}

const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
await rm(out, { recursive: true, force: true });
await mkdir(path.join(out, 'dist', 'functions'), { recursive: true });
const files = (await readdir(bundle)).filter((f) => f.endsWith('.js') || f.endsWith('.js.map'));
await Promise.all(files.map((f) => copyFile(path.join(bundle, f), path.join(out, 'dist', 'functions', f))));
await copyFile(path.join(root, 'host.json'), path.join(out, 'host.json'));
await copyFile(rules, path.join(out, 'rules.yaml'));
await writeFile(
  path.join(out, 'package.json'),
  `${JSON.stringify(
    { name: pkg.name, version: pkg.version, private: true, type: 'module', main: 'dist/functions/index.js' },
    null,
    2,
  )}\n`,
);
console.log(
  `stage-deployment: ${rel(out)} holds host.json, package.json, rules.yaml and ${String(files.length)} bundle files.`,
);
