/**
 * The import graph of a source tree, folded into its folders, and the cycles between them.
 * Imports are read with TypeScript's own pre-processor (`ts.preProcessFile`), which sees every
 * form: `import`, `import type`, `export … from`, and dynamic `import()`. A type-only import
 * counts: it couples the folders as much as a value import does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** One import of one file by another, both relative to the tree's parent (e.g. `lib/rules/evaluate.ts`). */
export interface ImportEdge {
  from: string;
  to: string;
}

/** Every `.ts` file under `dir`, `/`-separated and relative to `base`. */
export function sourceFiles(dir: string, base: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => toPosix(path.relative(base, path.join(e.parentPath, e.name))))
    .sort();
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

/** The relative imports of each file (ESM `.js` specifiers mapped back to the `.ts` source). */
export function importEdges(files: readonly string[], base: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const text = readFileSync(path.join(base, from), 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = toPosix(path.posix.normalize(path.posix.join(path.posix.dirname(from), fileName)));
      edges.push({ from, to: target.replace(/\.js$/, '.ts') });
    }
  }
  return edges;
}

/**
 * The unit a file belongs to: its folder (`lib/rules`, `lib/cli/local`). A file directly under
 * `root` is a unit of its own (`lib/config.ts`, `lib/app.ts`): those few files are the settings,
 * the logger and the composition root, which sit at opposite ends of the layering, so folding them
 * into one unit would report the composition root and the settings it reads as a cycle.
 */
export function unitOf(file: string, root: string): string {
  const dir = path.posix.dirname(file);
  return dir === root ? file : dir;
}

/** A cycle between units, with the file-level import that makes each step. */
export interface UnitCycle {
  units: string[];
  steps: ImportEdge[];
}

/**
 * The cycles between units (strongly connected components of the unit graph, one cycle shown for
 * each), ignoring imports inside a unit and imports that leave `root`.
 */
export function unitCycles(edges: readonly ImportEdge[], root: string): UnitCycle[] {
  const inRoot = (f: string) => f.startsWith(`${root}/`);
  const graph = new Map<string, Map<string, ImportEdge>>();
  for (const e of edges) {
    if (!inRoot(e.from) || !inRoot(e.to)) continue;
    const [a, b] = [unitOf(e.from, root), unitOf(e.to, root)];
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    if (!graph.get(a)!.has(b)) graph.get(a)!.set(b, e);
  }
  const next = (u: string) => [...(graph.get(u)?.keys() ?? [])].sort();
  return stronglyConnected([...graph.keys()].sort(), next)
    .filter((component) => component.length > 1)
    .map((component) => {
      const units = cycleThrough(component, next);
      const steps = units.map((u, i) => graph.get(u)!.get(units[(i + 1) % units.length]!)!);
      return { units, steps };
    });
}

/** One line per cycle: `lib/a → lib/b → lib/a (lib/a/x.ts imports lib/b/y.ts; …)`. */
export function describeCycle(cycle: UnitCycle): string {
  const ring = [...cycle.units, cycle.units[0]!].join(' → ');
  return `${ring} (${cycle.steps.map((s) => `${s.from} imports ${s.to}`).join('; ')})`;
}

/** Tarjan's algorithm: the strongly connected components of a graph. */
function stronglyConnected(nodes: readonly string[], next: (n: string) => string[]): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      components.push(component.sort());
    }
  };
  for (const n of nodes) if (!index.has(n)) visit(n);
  return components;
}

/** A shortest cycle through the first unit of a strongly connected component (breadth-first). */
function cycleThrough(component: readonly string[], next: (n: string) => string[]): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const u = queue.shift()!;
    for (const w of next(u).filter((n) => members.has(n))) {
      if (w === start) {
        const path = [u];
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!);
        return path;
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, u);
        queue.push(w);
      }
    }
  }
  return [...component];
}
