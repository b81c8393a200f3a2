import type { AuthenticationProvider, Context, Middleware } from '@microsoft/microsoft-graph-client';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { createGraphClient, graphBaseUrlOf, graphScopeFor } from '../../lib/graph/client.js';
import { createCredential, SimulatorCredential } from '../../lib/graph/credential.js';
import { GraphError } from '../../lib/graph/graph-error.js';
import { HostScopedAuthMiddleware } from '../../lib/graph/host-scoped-auth.js';
import { employeeIdFilter, resolveLink, userPath } from '../../lib/graph/paths.js';
import { parseRetryAfterMs } from '../../lib/graph/retry-after.js';

describe('userPath', () => {
  it('leaves object ids alone', () => {
    expect(userPath('6e1d1b8c-6a3f-4b6f-9a57-2f0e5a1f6c11')).toBe(
      '/users/6e1d1b8c-6a3f-4b6f-9a57-2f0e5a1f6c11',
    );
  });
  it('percent-encodes a guest UPN with #EXT#', () => {
    expect(userPath('ann_contoso.com#EXT#@tenant.onmicrosoft.com')).toBe(
      '/users/ann_contoso.com%23EXT%23%40tenant.onmicrosoft.com',
    );
  });
  it("uses the key form for a UPN starting with '$'", () => {
    expect(userPath("$o'neil@contoso.com")).toBe("/users('%24o''neil%40contoso.com')");
  });
});

describe('employeeIdFilter', () => {
  it('doubles single quotes and percent-encodes the expression', () => {
    expect(decodeURIComponent(employeeIdFilter("O'Brien&1"))).toBe("employeeId eq 'O''Brien&1'");
    expect(employeeIdFilter("O'Brien&1")).not.toContain('&');
  });
});

describe('resolveLink', () => {
  it('splits a simulator link into version and path+query', () => {
    expect(
      resolveLink('http://127.0.0.1:7071/v1.0/users?$skiptoken=abc%3D&$top=2', 'http://127.0.0.1:7071'),
    ).toEqual({
      version: 'v1.0',
      pathAndQuery: '/users?$skiptoken=abc%3D&$top=2',
    });
  });
  it('handles a national cloud delta link', () => {
    expect(
      resolveLink('https://graph.microsoft.us/v1.0/users/delta?$deltatoken=x', 'https://graph.microsoft.us'),
    ).toEqual({
      version: 'v1.0',
      pathAndQuery: '/users/delta?$deltatoken=x',
    });
  });
  it('refuses a link to another origin', () => {
    expect(() => resolveLink('https://evil.example/v1.0/users', 'https://graph.microsoft.com')).toThrow(
      GraphError,
    );
  });
});

describe('parseRetryAfterMs', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(null)).toBeUndefined();
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(parseRetryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
  });
});

describe('graphScopeFor', () => {
  it('derives the national cloud scope from the base URL', () => {
    expect(graphScopeFor('https://graph.microsoft.com')).toBe('https://graph.microsoft.com/.default');
    expect(graphScopeFor('https://graph.microsoft.us/')).toBe('https://graph.microsoft.us/.default');
    expect(graphScopeFor('https://microsoftgraph.chinacloudapi.cn')).toBe(
      'https://microsoftgraph.chinacloudapi.cn/.default',
    );
    expect(graphScopeFor('http://127.0.0.1:7071')).toBe('https://graph.microsoft.com/.default');
  });
});

describe('credential and client', () => {
  it('uses the dummy credential only for loopback', async () => {
    const credential = createCredential({
      managedIdentityClientId: undefined,
      simulator: true,
      baseUrl: 'http://127.0.0.1:1',
    });
    expect(credential).toBeInstanceOf(SimulatorCredential);
    expect((await credential.getToken('x'))?.token).toBe(SimulatorCredential.TOKEN);
    expect(() =>
      createCredential({
        managedIdentityClientId: undefined,
        simulator: true,
        baseUrl: 'https://graph.microsoft.com',
      }),
    ).toThrow(ConfigError);
    expect(() =>
      createGraphClient({
        baseUrl: 'https://graph.microsoft.com',
        credential: new SimulatorCredential(),
        maxRetries: 0,
      }),
    ).toThrow(ConfigError);
  });

  it('uses a user-assigned managed identity when a client id is set', () => {
    const credential = createCredential({
      managedIdentityClientId: '00000000-0000-0000-0000-000000000001',
      simulator: false,
    });
    expect(credential.constructor.name).toBe('ManagedIdentityCredential');
  });

  it('remembers the base URL of the client it built', () => {
    const client = createGraphClient({
      baseUrl: 'http://127.0.0.1:9/',
      credential: new SimulatorCredential(),
      maxRetries: 1,
    });
    expect(graphBaseUrlOf(client)).toBe('http://127.0.0.1:9');
  });
});

describe('HostScopedAuthMiddleware', () => {
  const provider: AuthenticationProvider = { getAccessToken: () => Promise.resolve('tok') };

  function run(url: string, headers: Record<string, string>) {
    const auth = new HostScopedAuthMiddleware(provider, 'http://127.0.0.1:7071');
    let seen: Record<string, string> = {};
    const next: Middleware = {
      execute: (context: Context) => {
        seen = { ...(context.options?.headers as Record<string, string>) };
        return Promise.resolve();
      },
    };
    auth.setNext(next);
    return auth.execute({ request: url, options: { method: 'GET', headers } }).then(() => seen);
  }

  it('attaches the token and keeps a GUID client-request-id on the configured origin', async () => {
    const id = '0b6a3f0e-8f4b-4f6e-9d6c-3c1f5e2a7b90';
    const seen = await run('http://127.0.0.1:7071/v1.0/users', { 'client-request-id': id });
    expect(seen.Authorization).toBe('Bearer tok');
    expect(seen['client-request-id']).toBe(id);
  });

  it('adds a client-request-id when there is none', async () => {
    const seen = await run('http://127.0.0.1:7071/v1.0/users', {});
    expect(seen['client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never sends the token to another origin', async () => {
    const seen = await run('http://127.0.0.1:9999/v1.0/users', { Authorization: 'Bearer leaked' });
    expect(seen.Authorization).toBeUndefined();
  });
});
