/**
 * Layers point one way: no folder of lib/ imports one that imports it back (directly or round a
 * longer ring). Run by `npm test`, so CI fails on a new cycle and the message names it, with the
 * import that makes each step. lib/ also never reaches into the tests, the benchmarks or the
 * packages' sources by path: what it uses of a package it imports by the package's name.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  describeCycle,
  importEdges,
  sourceFiles,
  unitCycles,
  type ImportEdge,
} from '../support/import-graph.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const files = sourceFiles(path.join(ROOT, 'lib'), ROOT);
const edges = importEdges(files, ROOT);

describe('the import layers of lib/', () => {
  it('has no cycle between folders', () => {
    expect(unitCycles(edges, 'lib').map(describeCycle)).toEqual([]);
  });

  it('reads real imports: licensing depends on rules, never the other way', () => {
    // Guards the check itself: were the parser to see nothing, the test above would pass vacuously.
    const between = (a: string, b: string) =>
      edges.filter((e) => e.from.startsWith(`${a}/`) && e.to.startsWith(`${b}/`));
    expect(files.length).toBeGreaterThan(50);
    expect(between('lib/licensing', 'lib/rules').length).toBeGreaterThan(0);
    expect(between('lib/rules', 'lib/licensing')).toEqual([]);
    // Type-only and dynamic imports count (app.ts loads the Graph gateway with import()).
    expect(edges).toContainEqual({ from: 'lib/rules/evaluate.ts', to: 'lib/graph/types.ts' });
    expect(edges).toContainEqual({ from: 'lib/app.ts', to: 'lib/graph/graph-gateway.ts' });
  });

  it('imports nothing from outside lib/ by path', () => {
    expect(edges.filter((e) => !e.to.startsWith('lib/'))).toEqual([]);
  });
});

describe('the cycle check', () => {
  const edge = (from: string, to: string): ImportEdge => ({ from, to });

  it('names a two-folder cycle with the import that makes each step', () => {
    const cycles = unitCycles(
      [
        edge('lib/rules/evaluate.ts', 'lib/licensing/types.ts'),
        edge('lib/licensing/compile.ts', 'lib/rules/schema.ts'),
        edge('lib/licensing/compile.ts', 'lib/licensing/types.ts'),
      ],
      'lib',
    );
    expect(cycles.map(describeCycle)).toEqual([
      'lib/licensing → lib/rules → lib/licensing (lib/licensing/compile.ts imports lib/rules/schema.ts; lib/rules/evaluate.ts imports lib/licensing/types.ts)',
    ]);
  });

  it('finds a longer ring, and treats each file at the top of lib/ as a unit of its own', () => {
    const ring = [
      edge('lib/a/x.ts', 'lib/b/y.ts'),
      edge('lib/b/y.ts', 'lib/c/z.ts'),
      edge('lib/c/z.ts', 'lib/a/w.ts'),
    ];
    expect(unitCycles(ring, 'lib').map((c) => c.units)).toEqual([['lib/a', 'lib/b', 'lib/c']]);
    // The composition root reads everything and everything reads the settings: no cycle.
    const layered = [
      edge('lib/app.ts', 'lib/graph/client.ts'),
      edge('lib/graph/client.ts', 'lib/config.ts'),
      edge('lib/app.ts', 'lib/config.ts'),
    ];
    expect(unitCycles(layered, 'lib')).toEqual([]);
    // …but a root file that is imported back by what it imports is a cycle.
    expect(unitCycles([...layered, edge('lib/config.ts', 'lib/app.ts')], 'lib').map((c) => c.units)).toEqual([
      ['lib/app.ts', 'lib/config.ts'],
    ]);
  });
});
