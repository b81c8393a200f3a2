#!/usr/bin/env node
// Runs the bundled CLI (npm run build) when present, else the TypeScript sources through tsx.
import { existsSync } from 'node:fs';

const bundled = new URL('../dist/cli/entry.js', import.meta.url);
if (existsSync(bundled)) {
  await import(bundled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../lib/cli/entry.ts', import.meta.url).href);
}
