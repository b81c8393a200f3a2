/**
 * The deployment choices, kept true by reading the files (azd and Core Tools cannot run here):
 * a local build staged in dist/deploy with no node_modules (azure.yaml, scripts/stage-deployment.mjs,
 * scripts/build.mjs), and no timer that runs at every start in production.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');

interface Hook {
  posix?: { shell?: string; run?: string };
  windows?: { shell?: string; run?: string };
}
const azure = parseYaml(read('azure.yaml')) as {
  services: Record<
    string,
    { remoteBuild?: boolean; dist?: string; language?: string; hooks?: Record<string, Hook> }
  >;
};
const api = azure.services['api'];

describe('azure.yaml: a local build, staged', () => {
  it('says remoteBuild: false for the TypeScript function service', () => {
    expect(api).toMatchObject({ language: 'ts', remoteBuild: false });
  });

  it('has no ignore file that excludes node_modules (azd refuses remoteBuild: false with one, and would turn remote build on without the setting)', () => {
    const ignore = path.join(root, '.funcignore');
    if (existsSync(ignore)) {
      const lines = read('.funcignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      expect(lines.filter((l) => /^\/?node_modules\/?$/.test(l))).toEqual([]);
    }
  });

  it('zips dist/deploy, which the prepackage hook stages, on every shell', () => {
    expect(api?.dist).toBe('dist/deploy');
    const hook = api?.hooks?.['prepackage'];
    expect(hook?.posix?.run).toBe('node scripts/stage-deployment.mjs');
    expect(hook?.windows?.run).toBe('node scripts/stage-deployment.mjs');
    expect(read('scripts/stage-deployment.mjs')).toContain("out: { type: 'string', default: 'dist/deploy' }");
  });

  it('bundles every dependency but the one the host provides (and an optional one), so the package needs no node_modules', () => {
    // supports-color: debug requires it optionally and goes on without colours when it is absent.
    expect(read('scripts/build.mjs')).toMatch(/external: \['@azure\/functions-core', 'supports-color'\]/);
    expect(read('scripts/build.mjs')).toMatch(/bundle: true/);
  });
});

describe('timers', () => {
  const timers = readdirSync(path.join(root, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: f, text: read(`functions/${f}`) }))
    .filter((f) => /app\.timer\(/.test(f.text));

  it('are the three the docs describe', () => {
    expect(timers.map((t) => t.file).sort()).toEqual([
      'cleanup.ts',
      'delta-catchup.ts',
      'subscription-keeper.ts',
    ]);
  });

  it.each(['cleanup.ts', 'delta-catchup.ts', 'subscription-keeper.ts'])(
    '%s does not run at every start (runOnStartup off)',
    (file) => {
      const text = timers.find((t) => t.file === file)?.text ?? '';
      expect(text).not.toMatch(/runOnStartup:\s*true/);
    },
  );

  it('keep the subscription hourly, so a new deployment has one within the hour', () => {
    expect(read('functions/subscription-keeper.ts')).toMatch(/schedule: '0 5 \* \* \* \*'/);
  });
});
