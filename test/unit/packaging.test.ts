/**
 * What an install pulls in, read from package.json and the committed package-lock.json (what
 * `npm ci` installs): Node 22 is the runtime everywhere, Azurite (with the old axios, xml2js and
 * tough-cookie it brings) is a development tool only, and one esbuild serves the build, tsx and vite.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Manifest {
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}
interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
}

const read = (file: string): unknown => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));
const pkg = read('package.json') as Manifest;
const simulatorPkg = read('packages/graph-simulator/package.json') as Manifest;
const lock = read('package-lock.json') as { packages: Record<string, LockEntry> };

/** Lock entries of a package wherever it is installed (`node_modules/x`, `node_modules/y/node_modules/x`). */
const installed = (name: string) =>
  Object.entries(lock.packages).filter(([where]) => where.endsWith(`node_modules/${name}`));

describe('runtime', () => {
  it('is Node 22, for the app, the simulator package and the Node types', () => {
    expect(pkg.engines?.node).toBe('>=22');
    expect(simulatorPkg.engines?.node).toBe('>=22');
    expect(readFileSync(path.join(ROOT, '.nvmrc'), 'utf8').trim()).toBe('22');
    expect(pkg.devDependencies?.['@types/node']?.split('.')[0]).toBe('22');
  });
});

describe('dependencies', () => {
  it('keeps Azurite and what it pulls in out of a production install', () => {
    expect(pkg.devDependencies?.azurite).toBe('3.35.0');
    expect(Object.keys(pkg.dependencies ?? {})).not.toContain('azurite');
    expect(Object.keys(pkg.optionalDependencies ?? {})).not.toContain('azurite');
    // npm marks `dev` what only development dependencies reach: `npm ci --omit=dev` skips it.
    for (const name of ['azurite', 'axios', 'xml2js', 'tough-cookie']) {
      const entries = installed(name);
      expect(entries.length, name).toBeGreaterThan(0);
      expect(entries.filter(([, e]) => e.dev !== true).map(([where]) => where)).toEqual([]);
    }
  });

  it('has one esbuild', () => {
    const versions = new Set(installed('esbuild').map(([, e]) => e.version));
    expect([...versions]).toEqual([pkg.devDependencies?.esbuild]);
  });
});
