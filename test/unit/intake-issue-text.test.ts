import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { declaredKeys, describeIssues } from '../../lib/intake/index.js';

const schema = z.looseObject({
  user: z.looseObject({ name: z.string().max(5), tags: z.array(z.looseObject({ value: z.number() })) }),
  attributes: z.record(z.string(), z.union([z.string(), z.null()])).optional(),
  mode: z.enum(['a', 'b']).optional(),
  flag: z
    .union([
      z.boolean(),
      z
        .string()
        .regex(/^(yes|no)$/, 'must be yes or no')
        .transform((s) => s === 'yes'),
    ])
    .optional(),
});
const known = declaredKeys(schema);

function describe_(value: unknown): string {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected a refusal');
  return describeIssues(parsed.error, known);
}

describe('declaredKeys', () => {
  it('collects every key the schema declares, through optional, array, union, record and pipe', () => {
    expect([...known].sort()).toEqual(['attributes', 'flag', 'mode', 'name', 'tags', 'user', 'value']);
  });
});

describe('describeIssues', () => {
  it("names fields by the schema, never the sender's keys or values", () => {
    const text = describe_({
      user: { name: 'Grace Hopper', tags: [{ value: 'secret-tag' }] },
      attributes: { 'pii.Grace Hopper': 42 },
    });
    expect(text).toBe(
      'user.name: Too big: expected string to have <=5 characters; user.tags[0].value: Invalid input: expected number, received string; attributes[…]: Invalid input',
    );
    expect(text).not.toMatch(/Grace|secret-tag|pii/);
  });

  it('names at most three issues and counts the rest', () => {
    const attributes = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${String(i)}`, i]));
    expect(describe_({ user: { name: 'a', tags: [] }, attributes })).toBe(
      'attributes[…]: Invalid input; attributes[…]: Invalid input; attributes[…]: Invalid input; and 47 more',
    );
  });

  it('keeps the schema\'s own words (allowed values, custom messages) and the whole payload as "the payload"', () => {
    expect(describe_({ user: { name: 'a', tags: [] }, mode: 'c' })).toBe(
      'mode: Invalid option: expected one of "a"|"b"',
    );
    expect(describe_('just a string')).toBe('the payload: Invalid input: expected object, received string');
  });

  it('never quotes the keys of a strict object', () => {
    const strict = z.strictObject({ a: z.string() });
    const parsed = strict.safeParse({ a: 'x', 'Grace Hopper': 1 });
    expect(parsed.success).toBe(false);
    if (!parsed.success) {
      expect(describeIssues(parsed.error, declaredKeys(strict))).toBe(
        'the payload: holds a field that is not allowed',
      );
    }
  });
});
