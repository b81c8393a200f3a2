/**
 * Every row of the failure table in docs/cli.md ("When something goes wrong"): what the CLI prints
 * and its exit code. In-process through `main` (Graph simulator, Azurite), and as a real process
 * where the process itself matters (a closed pipe, stdout that must stay pure JSON).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AggregateAuthenticationError,
  AuthenticationError,
  CredentialUnavailableError,
} from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { startSimulator, type Simulator } from '@ems-licensing/graph-simulator';
import { smallTenant } from '@ems-licensing/graph-simulator/test-support';
import {
  cliEnv,
  randomTablePrefix,
  recordingIo,
  removeTempFiles,
  tempFile,
} from '../support/engine-harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const connectionString = inject('storageConnectionString');
const EXAMPLE_RULES = path.join(root, 'examples/rules.yaml');
const TENANT = '11111111-2222-4333-8444-555555555555';

let sim: Simulator;
let env: Record<string, string>;

beforeEach(async () => {
  sim = await startSimulator({ tenant: smallTenant() });
  env = { ...cliEnv(sim, connectionString, randomTablePrefix()), RULES_PATH: EXAMPLE_RULES };
});
afterEach(async () => {
  await sim.close();
});
afterAll(removeTempFiles);

async function run(argv: string[], extraEnv: Record<string, string> = {}, credential?: TokenCredential) {
  const io = recordingIo();
  const code = await main(argv, { ...env, ...extraEnv }, io, credential ? { credential } : {});
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const failing = (error: Error): TokenCredential => ({ getToken: () => Promise.reject(error) });
/** No stack frames in what the CLI printed. */
const NO_STACK = /^\s+at /m;

describe('the command line', () => {
  it.each([
    [['pln'], 'Unknown command "pln": did you mean "plan"?\nSee `ems-licensing --help`.\n'],
    [['plan', '--jsno'], 'Unknown option --jsno: did you mean --json?\nSee `ems-licensing plan --help`.\n'],
    [['plan', '--yes'], 'plan does not take --yes (apply does).\nSee `ems-licensing plan --help`.\n'],
    [['plan', '--rules'], '--rules FILE: the FILE is missing.\nSee `ems-licensing plan --help`.\n'],
    [
      ['explain'],
      'explain needs <user>: ems-licensing explain <user>\nSee `ems-licensing explain --help`.\n',
    ],
    [
      ['plan', '--concurrency', '0'],
      '--concurrency must be a whole number from 1 to 64, got "0".\nSee `ems-licensing plan --help`.\n',
    ],
  ])('%j: one line and exit 2', async (argv, expected) => {
    const { code, out, err } = await run(argv);
    expect(code).toBe(2);
    expect(err).toBe(expected);
    expect(out).toBe('');
  });

  it('says which options npm kept for itself (npm run cli plan --json, without --)', async () => {
    const { code, err } = await run(['plan'], {
      npm_command: 'run',
      npm_lifecycle_event: 'cli',
      npm_config_json: 'true',
    });
    expect(code).toBe(2);
    expect(err).toBe(
      "npm kept --json for itself: through npm run, put the CLI's options after `--` (npm run cli -- plan --json …), or run npx ems-licensing, which passes everything through.\n",
    );
    expect(sim.counters.get('subscribedSkus')).toBe(0);
  });

  it('prints the version (exit 0) and help for a command', async () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, out: `ems-licensing ${pkg.version}\n`, err: '' });
    const help = await run(['seats', '--help']);
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: ems-licensing seats \[options\]/);
  });
});

describe('Graph and sign-in', () => {
  it('an unreachable Graph URL: the cause and the fix in one line, exit 4, no stack trace', async () => {
    const port = await closedPort();
    const { code, out, err } = await run(['plan'], {
      GRAPH_BASE_URL: `http://127.0.0.1:${String(port)}`,
      GRAPH_MAX_RETRIES: '0',
    });
    expect(code).toBe(4);
    expect(out).toBe('');
    expect(err).toBe(
      `Cannot reach Microsoft Graph at http://127.0.0.1:${String(port)} (connection refused: nothing listens on 127.0.0.1:${String(port)}). Check --graph-url or GRAPH_BASE_URL, and your network or proxy.\n`,
    );
  });

  it('--debug adds the stack trace and the cause', async () => {
    const port = await closedPort();
    const { code, err } = await run(['validate', '--debug'], {
      GRAPH_BASE_URL: `http://127.0.0.1:${String(port)}`,
      GRAPH_MAX_RETRIES: '0',
    });
    expect(code).toBe(4);
    expect(err.split('\n')[0]).toMatch(/^Cannot reach Microsoft Graph at /);
    expect(err).toMatch(NO_STACK);
    expect(err).toContain('GraphError: fetch failed');
  });

  it('no az login: says so, and the command to run, exit 4', async () => {
    const noSignIn = new AggregateAuthenticationError(
      [
        new CredentialUnavailableError(
          'EnvironmentCredential is unavailable. No underlying credential could be used.',
        ),
        new CredentialUnavailableError(
          "Please run 'az login' from a command prompt to authenticate before using this credential.",
        ),
      ],
      'ChainedTokenCredential authentication failed.',
    );
    const { code, out, err } = await run(['plan'], { AZURE_TENANT_ID: TENANT }, failing(noSignIn));
    expect(code).toBe(4);
    expect(out).toBe('');
    expect(err).toBe(
      `Not signed in to Azure: no credential is available. Run \`az login --tenant ${TENANT}\` and try again.\n`,
    );
    expect(sim.counters.get('subscribedSkus')).toBe(0);
  });

  it('no Azure CLI at all: says to install it', async () => {
    const noCli = new CredentialUnavailableError(
      "Azure CLI could not be found. Please visit https://aka.ms/azure-cli for installation instructions and then, once installed, authenticate to your Azure account using 'az login'.",
    );
    const { code, err } = await run(['validate'], {}, failing(noCli));
    expect(code).toBe(4);
    expect(err).toBe(
      'Not signed in to Azure: the Azure CLI is not installed and no other credential is set up. Run `az login --tenant <tenant id>` (install the Azure CLI from https://aka.ms/azure-cli) and try again.\n',
    );
  });

  it('signed in to another tenant: names the tenant and the fix, exit 4', async () => {
    const wrongTenant = new AuthenticationError(400, {
      error: 'invalid_grant',
      error_description: `AADSTS50020: User account 'admin@fabrikam.com' from identity provider 'https://sts.windows.net/x/' does not exist in tenant 'Contoso' and cannot access the application.`,
    });
    const { code, err } = await run(
      ['explain', 'alice@fabrikam.com'],
      { AZURE_TENANT_ID: TENANT },
      failing(wrongTenant),
    );
    expect(code).toBe(4);
    expect(err).toBe(
      `Signed in to Azure, but not to tenant ${TENANT}: Entra ID refused the sign-in for it. Run \`az login --tenant ${TENANT}\` with an account of that tenant, or correct AZURE_TENANT_ID.\n`,
    );
    // The address in Entra ID's message is not echoed.
    expect(err).not.toContain('admin@fabrikam.com');
  });
});

describe('rules and settings', () => {
  it('rules that name a SKU the tenant lacks: exit 1 in validate and plan alike', async () => {
    const rules = await tempFile(
      'rules.yaml',
      [
        'version: 1',
        'rules:',
        '  - name: staff',
        '    when: { attribute: userType, equals: Member }',
        '    license: { sku: EMSS }',
        '',
      ].join('\n'),
    );
    const validate = await run(['validate', '--rules', rules]);
    const plan = await run(['plan', '--rules', rules]);
    expect([validate.code, plan.code]).toEqual([1, 1]);
    expect(validate.out).toContain('unknown SKU "EMSS"');
    expect(plan.err).toContain('unknown SKU "EMSS"');
    expect(plan.err).not.toMatch(NO_STACK);
    expect(sim.counters.get('listUsers')).toBe(0);
  });

  it('a malformed setting: names it, exit 2', async () => {
    const { code, err } = await run(['plan'], { GRAPH_MAX_RETRIES: 'many' });
    expect(code).toBe(2);
    expect(err).toMatch(/^Invalid settings:\n {2}GRAPH_MAX_RETRIES: /);
    expect(err).not.toMatch(NO_STACK);
  });
});

describe('storage', () => {
  it('unreachable Table storage: where, and what to check, exit 4', async () => {
    const port = await closedPort();
    const dead = connectionString.replace(
      /TableEndpoint=http:\/\/127\.0\.0\.1:\d+/,
      `TableEndpoint=http://127.0.0.1:${String(port)}`,
    );
    const { code, err } = await run(['apply', '--yes'], { STORAGE_CONNECTION_STRING: dead });
    expect(code).toBe(4);
    expect(err).toMatch(
      new RegExp(
        `^Cannot reach Table storage at http://127\\.0\\.0\\.1:${String(port)}/devstoreaccount1 \\(.+\\)\\. Check STORAGE_CONNECTION_STRING or STORAGE_TABLE_ENDPOINT, and for an endpoint your Storage Table Data Contributor role \\(az login\\)\\.\\n$`,
      ),
    );
    expect(sim.counters.writes()).toBe(0);
  }, 60_000);
});

/** Runs the CLI from the sources as a real process. */
function spawnCli(
  argv: string[],
  extraEnv: Record<string, string>,
  onStdout?: (child: ReturnType<typeof spawn>) => void,
) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'lib/cli/entry.ts'), ...argv], {
      cwd: root,
      env: { PATH: process.env.PATH, ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    onStdout?.(child);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('the process', () => {
  it('--json: stdout is JSON only, one object per line; the summary goes to stderr', async () => {
    const { code, out, err } = await spawnCli(['plan', '--json'], {});
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(err).toContain('plan (dry run)');
  }, 60_000);

  it('a closed pipe (| head) ends quietly: exit 0, nothing on stderr', async () => {
    const { code, err } = await spawnCli(['plan', '--json'], {}, (child) => child.stdout?.destroy());
    expect(code).toBe(0);
    expect(err).toBe('');
  }, 60_000);

  it('no stack trace on stderr without --debug', async () => {
    const port = await closedPort();
    // LOG_LEVEL unset: the CLI's default, errors only.
    const { code, err } = await spawnCli(['plan'], {
      GRAPH_BASE_URL: `http://127.0.0.1:${String(port)}`,
      GRAPH_MAX_RETRIES: '0',
      LOG_LEVEL: '',
    });
    expect(code).toBe(4);
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    expect(err).not.toMatch(NO_STACK);
  }, 60_000);
});
