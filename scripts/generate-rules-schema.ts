/**
 * Writes rules.schema.json at the repository root from the zod schema in lib/rules/schema.ts.
 * Run after changing the schema: `npm run rules:schema` (a unit test fails if you forget).
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderRulesJsonSchema } from '../lib/rules/json-schema.js';

const target = fileURLToPath(new URL('../rules.schema.json', import.meta.url));
await writeFile(target, renderRulesJsonSchema(), 'utf8');
console.log(`wrote ${target}`);
