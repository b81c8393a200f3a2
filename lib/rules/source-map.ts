/**
 * Remembers where each parsed rules file came from, so later checks (compileRules, against the
 * tenant's SKUs) can still point at `file:line:column`.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

export interface SourcePosition {
  line: number;
  column: number;
}

/** Where a rules file came from and how to find a path in it. */
export interface RulesSource {
  sourceName: string;
  /**
   * Position of the node at `path` (or of the nearest enclosing node that exists). With
   * `atKey`, the position of the last segment's key rather than its value (for unknown keys).
   */
  locate(path: readonly PropertyKey[], atKey?: boolean): SourcePosition | null;
}

const sources = new WeakMap<object, RulesSource>();

/** Link a parsed rules object to its source. */
export function rememberSource(parsed: object, source: RulesSource): void {
  sources.set(parsed, source);
}

/** The source of a rules object from parseRules, or null for one built in code. */
export function sourceOf(parsed: object): RulesSource | null {
  return sources.get(parsed) ?? null;
}

/** A RulesSource over a parsed YAML (or JSON) document. */
export function yamlSource(sourceName: string, doc: Document, lines: LineCounter): RulesSource {
  return {
    sourceName,
    locate(path, atKey = false) {
      let node: unknown = doc.contents;
      let offset: number | undefined = rangeStart(node);
      for (const [i, segment] of path.entries()) {
        if (isAlias(node)) node = node.resolve(doc);
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
          if (pair === undefined) break;
          const keyStart = rangeStart(pair.key);
          if (atKey && i === path.length - 1) {
            offset = keyStart ?? offset;
            break;
          }
          node = pair.value;
          offset = rangeStart(node) ?? keyStart ?? offset;
        } else if (isSeq(node) && typeof segment === 'number') {
          const item: unknown = node.items[segment];
          if (item === undefined) break;
          node = item;
          offset = rangeStart(node) ?? offset;
        } else {
          break;
        }
      }
      if (offset === undefined) return null;
      const { line, col } = lines.linePos(offset);
      return { line, column: col };
    },
  };
}

function rangeStart(node: unknown): number | undefined {
  if (typeof node !== 'object' || node === null || !('range' in node)) return undefined;
  const range = (node as { range?: readonly number[] | null }).range;
  return range?.[0] ?? undefined;
}
