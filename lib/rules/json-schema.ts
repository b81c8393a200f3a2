/**
 * The JSON Schema editors use for rules files (`# yaml-language-server: $schema=…` in YAML,
 * `"$schema"` in JSON), generated from the zod schema so the two can never disagree.
 */
import { z } from 'zod';
import { rulesFileSchema } from './schema.js';

/**
 * The text of `rules.schema.json`. Draft-07, which VS Code and yaml-language-server both read;
 * `io: 'input'` so keys with defaults (defaults.unmatched) are optional, as authors write them.
 */
export function renderRulesJsonSchema(): string {
  const schema = z.toJSONSchema(rulesFileSchema, { target: 'draft-07', io: 'input' });
  return `${JSON.stringify({ ...schema, title: 'ems-licensing rules' }, null, 2)}\n`;
}
