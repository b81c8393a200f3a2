/**
 * The rows of docs/cli.md's failure table that the integration tests cannot bring about on
 * loopback (Graph answering 401, 403 or 5xx; a bug): the one line and the exit code for each.
 */
import { describe, expect, it } from 'vitest';
import { describeFailure, debugDetail, StorageUnavailableError } from '../../lib/cli/failure.js';
import { ConfigError } from '../../lib/config.js';
import { GraphError, type GraphErrorInit } from '../../lib/graph/graph-error.js';
import { RulesValidationError } from '../../lib/licensing/compile.js';
import { RulesError } from '../../lib/rules/rules-error.js';

const ctx = { graphUrl: 'https://graph.microsoft.com', tenantId: '11111111-2222-4333-8444-555555555555' };
const graph = (init: Partial<GraphErrorInit>) =>
  new GraphError({ kind: 'unknown', status: 0, code: '', message: '', fix: '', ...init });

describe('describeFailure', () => {
  it('Graph refusing the token (401): another tenant or cloud', () => {
    expect(
      describeFailure(graph({ kind: 'unauthorized', status: 401, code: 'InvalidAuthenticationToken' }), ctx),
    ).toEqual({
      message:
        "Microsoft Graph at https://graph.microsoft.com refused the sign-in (HTTP 401 InvalidAuthenticationToken): the token is for another tenant or cloud. Run `az login --tenant 11111111-2222-4333-8444-555555555555`, and check that --graph-url matches the tenant's cloud.",
      exitCode: 4,
    });
  });

  it('Graph refusing to read (403): the account lacks a role', () => {
    expect(
      describeFailure(graph({ kind: 'forbidden', status: 403, code: 'Authorization_RequestDenied' }), ctx),
    ).toEqual({
      message:
        'Microsoft Graph refused to read (HTTP 403 Authorization_RequestDenied): the signed-in account may not read users and licenses. Sign in with an account that can (Global Reader is enough for plan, explain, validate and seats; apply needs License Administrator).',
      exitCode: 4,
    });
  });

  it('Graph unavailable or throttling after the retries: try later', () => {
    expect(
      describeFailure(graph({ kind: 'unavailable', status: 503, code: 'ServiceUnavailable' }), ctx).message,
    ).toBe(
      'Microsoft Graph at https://graph.microsoft.com is not answering just now (HTTP 503 ServiceUnavailable). Try again in a few minutes; if it persists, check Microsoft 365 service health.',
    );
    expect(
      describeFailure(graph({ kind: 'throttled', status: 429, code: 'TooManyRequests' }), ctx).exitCode,
    ).toBe(4);
  });

  it('a token service that does not answer (neither "not signed in" nor "wrong tenant")', () => {
    const e = graph({
      kind: 'unavailable',
      status: -1,
      code: 'AuthenticationError',
      message: 'socket hang up',
    });
    expect(describeFailure(e, ctx)).toEqual({
      message:
        'Could not sign in to Azure for https://graph.microsoft.com: the token service did not answer. Check `az account show` and your network, then try again.',
      exitCode: 4,
    });
  });

  it('a rules file or setting that is wrong: its own message, exit 2', () => {
    expect(describeFailure(new ConfigError('Invalid settings:\n  LOG_LEVEL: bad'), ctx)).toEqual({
      message: 'Invalid settings:\n  LOG_LEVEL: bad',
      exitCode: 2,
    });
    const rules = new RulesError('rules.yaml', [{ path: 'rules[0]', message: 'bad', line: 3, column: 5 }]);
    expect(describeFailure(rules, ctx).exitCode).toBe(2);
  });

  it('rules that do not fit the tenant (a SKU or plan it lacks): exit 1, as in validate', () => {
    const misfit = new RulesValidationError('rules.yaml', [
      { path: 'rules[0].license.sku', message: 'unknown SKU "EMSS"', line: 5, column: 20 },
    ]);
    expect(describeFailure(misfit, ctx)).toEqual({ message: misfit.message, exitCode: 1 });
  });

  it('storage that cannot be reached: its message, exit 4', () => {
    expect(describeFailure(new StorageUnavailableError('Cannot reach Table storage at x.'), ctx)).toEqual({
      message: 'Cannot reach Table storage at x.',
      exitCode: 4,
    });
  });

  it('anything else is a bug: its first line, --debug for more, exit 70', () => {
    expect(
      describeFailure(new TypeError("Cannot read properties of undefined (reading 'id')\n    at x"), ctx),
    ).toEqual({
      message:
        "ems-licensing failed unexpectedly: Cannot read properties of undefined (reading 'id'). Run the command again with --debug for the details, and report them.",
      exitCode: 70,
    });
  });
});

describe('debugDetail', () => {
  it('gives the stack and every cause', () => {
    const inner = new Error('inner');
    const outer = new Error('outer', { cause: inner });
    const text = debugDetail(outer);
    expect(text).toMatch(/^Error: outer\n\s+at /);
    expect(text).toMatch(/\nCaused by: Error: inner\n\s+at /);
  });
});
