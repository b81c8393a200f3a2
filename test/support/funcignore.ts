/**
 * Reads `.funcignore` the way `azd deploy` / `func publish` do (gitignore patterns), so a test can
 * list what the deployed package holds without Azure tooling. Only the pattern forms the file
 * uses are supported; anything else (negation `!`, `**`, escapes) is refused rather than misread.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface Pattern {
  regex: RegExp;
  /** `dir/`: matches directories only. */
  dirOnly: boolean;
}

function compile(line: string): Pattern {
  if (line.startsWith('!') || line.includes('**') || line.includes('\\') || /[?[]/.test(line)) {
    throw new Error(
      `.funcignore: pattern "${line}" is not supported by test/support/funcignore.ts; extend it.`,
    );
  }
  const dirOnly = line.endsWith('/');
  const body = dirOnly ? line.slice(0, -1) : line;
  // gitignore: a slash at the start or in the middle anchors the pattern at the root; otherwise it
  // matches a name at any depth.
  const anchored = body.includes('/');
  const glob = body
    .replace(/^\//, '')
    .split('*')
    .map((part) => part.replace(/[.+^${}()|]/g, '\\$&'))
    .join('[^/]*');
  return { regex: new RegExp(anchored ? `^${glob}$` : `(^|/)${glob}$`), dirOnly };
}

/** The patterns of a `.funcignore` text, compiled. */
export function parseFuncignore(text: string): Pattern[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map(compile);
}

/** True when `.funcignore` leaves `file` (a path relative to the project, `/`-separated) out. */
export function isIgnored(patterns: Pattern[], file: string, isDirectory = false): boolean {
  const parts = file.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const isDir = i < parts.length || isDirectory;
    if (patterns.some((p) => (isDir || !p.dirOnly) && p.regex.test(prefix))) return true;
  }
  return false;
}

/** Every file under `root` the deployed package would hold (ignored folders are not entered). */
export async function deployedFiles(root: string): Promise<string[]> {
  const patterns = parseFuncignore(await readFile(path.join(root, '.funcignore'), 'utf8'));
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(root, rel), { withFileTypes: true })) {
      const file = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!isIgnored(patterns, file, true)) await walk(file);
      } else if (!isIgnored(patterns, file)) {
        out.push(file);
      }
    }
  };
  await walk('');
  return out.sort();
}
