import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APP_ROOT } from '../../lib/app-root.js';
import { RulesError } from '../../lib/rules/load.js';
import { checkAtStartup } from '../../lib/startup-check.js';

const roots: string[] = [];
async function appRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'ems-startup-'));
  roots.push(root);
  return root;
}
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

describe('checkAtStartup', () => {
  it('resolves a relative RULES_PATH against the app root and accepts a good file', async () => {
    const root = await appRoot();
    await writeFile(
      path.join(root, 'rules.yaml'),
      'version: 1\nrules:\n  - name: all\n    when: { attribute: accountEnabled, equals: true }\n    license: { sku: EMS }\n',
    );
    const rules = checkAtStartup({}, root);
    expect(rules.rules.map((r) => r.name)).toEqual(['all']);
  });

  it('stops start-up on a bad rules file, naming the line and the fix', async () => {
    const root = await appRoot();
    await writeFile(
      path.join(root, 'rules.yaml'),
      'version: 1\nrules:\n  - name: all\n    when: { atribute: accountEnabled, equals: true }\n    license: { sku: EMS }\n',
    );
    let error: unknown;
    try {
      checkAtStartup({}, root);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RulesError);
    expect((error as Error).message).toMatch(/rules\.yaml:4:/);
    expect((error as Error).message).toMatch(/attribute/);
  });

  it('stops start-up when the rules file is missing, saying how to create it', () => {
    expect(() => checkAtStartup({ RULES_PATH: 'no-such-rules.yaml' }, APP_ROOT)).toThrow(
      /examples\/rules\.yaml/,
    );
  });

  it('stops start-up on a bad setting, naming it', () => {
    expect(() => checkAtStartup({ GRAPH_BASE_URL: 'http://graph.example.com' })).toThrow(/GRAPH_BASE_URL/);
  });
});
