/**
 * The engine reads top to bottom in one screen (docs/architecture.md): no function, method or
 * arrow function in lib/engine/ is longer than 80 lines. Read with the TypeScript compiler, so a
 * long function is named with its file and length.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ENGINE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/engine');
const MAX_LINES = 80;

function longFunctions(file: string): string[] {
  const text = readFileSync(path.join(ENGINE, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      const name = node.name?.getText(source) ?? `(function at line ${String(first + 1)})`;
      if (lines > MAX_LINES) found.push(`${file}: ${name} is ${String(lines)} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('lib/engine function sizes', () => {
  it(`has no function over ${String(MAX_LINES)} lines`, () => {
    const files = readdirSync(ENGINE).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(20);
    expect(files.flatMap(longFunctions)).toEqual([]);
  });
});
