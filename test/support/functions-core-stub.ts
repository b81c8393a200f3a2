/**
 * `@azure/functions-core` is provided by the Functions host, not by npm. Outside the host, a
 * loaded bundle finds this stub through NODE_PATH; it records `registerFunction` calls on
 * `globalThis.__emsRegistered` so a test or benchmark can see what the app registered.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes the stub package under `dir`; returns the folder to put in NODE_PATH. */
export async function writeFunctionsCoreStub(dir: string): Promise<string> {
  const pkg = path.join(dir, 'node_modules/@azure/functions-core');
  await mkdir(pkg, { recursive: true });
  await writeFile(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: '@azure/functions-core', main: 'index.js' }),
  );
  await writeFile(
    path.join(pkg, 'index.js'),
    [
      'const registered = (globalThis.__emsRegistered ??= new Map());',
      'module.exports = {',
      '  setProgrammingModel() {},',
      '  registerFunction(metadata, handler) { registered.set(metadata.name, handler); return { dispose() {} }; },',
      '  registerHook() { return { dispose() {} }; },',
      '  log() {},',
      '};',
    ].join('\n'),
  );
  return path.join(dir, 'node_modules');
}
