import { describe, expect, it } from 'vitest';
import { ConfigError, loadBaseConfig, loadFunctionsConfig, parseWebhookSecrets } from '../../lib/config.js';

const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const functionsEnv = {
  STORAGE_TABLE_ENDPOINT: 'https://acct.table.core.windows.net',
  ServiceBusConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
  NOTIFICATION_URL: 'https://app.azurewebsites.net/api/graph-notifications',
  GRAPH_CLIENT_STATE: 'a-client-state-of-some-length',
  HR_WEBHOOK_SECRETS: secret,
};

describe('config', () => {
  it('applies defaults for an empty environment', () => {
    const c = loadBaseConfig({});
    expect(c.graph.baseUrl).toBe('https://graph.microsoft.com');
    expect(c.graph.simulator).toBe(false);
    expect(c.storage).toBeNull();
    expect(c.rulesPath).toBe('rules.yaml');
  });

  it('recognises a loopback Graph URL as the simulator and strips trailing slashes', () => {
    const c = loadBaseConfig({ GRAPH_BASE_URL: 'http://127.0.0.1:4000/' });
    expect(c.graph).toMatchObject({ baseUrl: 'http://127.0.0.1:4000', simulator: true });
  });

  it('refuses plain http to a remote Graph, naming the setting', () => {
    expect(() => loadBaseConfig({ GRAPH_BASE_URL: 'http://graph.example.com' })).toThrow(/GRAPH_BASE_URL/);
  });

  it('paces Graph at its documented budgets unless told otherwise', () => {
    expect(loadBaseConfig({}).graph.pacing).toEqual({ writesPer150s: 3_000, resourceUnitsPer10s: 3_500 });
    expect(
      loadBaseConfig({ GRAPH_WRITE_BUDGET_PER_150S: '1500', GRAPH_RU_BUDGET_PER_10S: '8000' }).graph.pacing,
    ).toEqual({ writesPer150s: 1_500, resourceUnitsPer10s: 8_000 });
  });

  it('refuses a Graph budget that is not a positive whole number, naming the setting', () => {
    expect(() => loadBaseConfig({ GRAPH_WRITE_BUDGET_PER_150S: '0' })).toThrow(/GRAPH_WRITE_BUDGET_PER_150S/);
    expect(() => loadBaseConfig({ GRAPH_RU_BUDGET_PER_10S: '20/s' })).toThrow(/GRAPH_RU_BUDGET_PER_10S/);
  });

  it('treats blank settings as unset', () => {
    expect(loadBaseConfig({ GRAPH_BASE_URL: '' }).graph.baseUrl).toBe('https://graph.microsoft.com');
  });

  it('names every missing Functions setting', () => {
    let message = '';
    try {
      loadFunctionsConfig({ STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' });
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      message = (e as Error).message;
    }
    expect(message).toMatch(/NOTIFICATION_URL/);
    expect(message).toMatch(/GRAPH_CLIENT_STATE/);
    expect(message).toMatch(/HR_WEBHOOK_SECRETS/);
  });

  it('requires a Service Bus connection for the Functions app', () => {
    const { ServiceBusConnection__fullyQualifiedNamespace: _, ...rest } = functionsEnv;
    expect(() => loadFunctionsConfig(rest)).toThrow(/ServiceBusConnection__fullyQualifiedNamespace/);
  });

  it('parses a full Functions environment', () => {
    const c = loadFunctionsConfig(functionsEnv);
    expect(c.serviceBus).toEqual({
      fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      queue: 'license-jobs',
    });
    expect(c.hrSecrets).toEqual([secret]);
    expect(c.storage.tableEndpoint).toBe('https://acct.table.core.windows.net');
  });

  it('accepts several webhook secrets for rotation and rejects malformed ones', () => {
    expect(parseWebhookSecrets(`${secret}, ${secret}`)).toHaveLength(2);
    expect(() => parseWebhookSecrets('not-a-secret')).toThrow(/whsec_/);
    expect(() => parseWebhookSecrets(`whsec_${Buffer.alloc(8).toString('base64')}`)).toThrow(
      /24 to 64 bytes/,
    );
  });
});

describe('config: secrets from Key Vault', () => {
  it('refuses a Key Vault reference that did not resolve, naming the setting and the fix', () => {
    const unresolved =
      '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/graph-client-state/)';
    expect(() => loadFunctionsConfig({ ...functionsEnv, GRAPH_CLIENT_STATE: unresolved })).toThrow(
      /GRAPH_CLIENT_STATE: is an unresolved Key Vault reference.*Key Vault Secrets User/,
    );
    expect(() => loadFunctionsConfig({ ...functionsEnv, HR_WEBHOOK_SECRETS: unresolved })).toThrow(
      /HR_WEBHOOK_SECRETS: is an unresolved Key Vault reference/,
    );
  });

  it('reads the tenant id for CLI sign-in', () => {
    const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
    expect(loadBaseConfig({ AZURE_TENANT_ID: tenant }).tenantId).toBe(tenant);
    expect(() => loadBaseConfig({ AZURE_TENANT_ID: 'contoso' })).toThrow(/AZURE_TENANT_ID/);
  });
});

describe('config: the blast-radius guard', () => {
  it('defaults to 10 % of holders and 25 users, for the CLI and the app alike', () => {
    expect(loadBaseConfig({}).guard).toEqual({ removalPercent: 10, removalCount: 25 });
    expect(loadBaseConfig({ GUARD_REMOVAL_PERCENT: '0', GUARD_REMOVAL_COUNT: '0' }).guard).toEqual({
      removalPercent: 0,
      removalCount: 0,
    });
  });

  it('refuses a share over 100 % or a count that is not a whole number, naming the setting', () => {
    expect(() => loadBaseConfig({ GUARD_REMOVAL_PERCENT: '150' })).toThrow(/GUARD_REMOVAL_PERCENT/);
    expect(() => loadBaseConfig({ GUARD_REMOVAL_COUNT: '2.5' })).toThrow(/GUARD_REMOVAL_COUNT/);
    expect(() => loadBaseConfig({ GUARD_REMOVAL_COUNT: '-1' })).toThrow(ConfigError);
  });

  it('reads the app’s Service Bus settings for a release, or none', async () => {
    const { loadServiceBusConfig } = await import('../../lib/config.js');
    expect(loadServiceBusConfig({})).toBeNull();
    expect(
      loadServiceBusConfig({ ServiceBusConnection__fullyQualifiedNamespace: 'sb-x.servicebus.windows.net' }),
    ).toEqual({ fullyQualifiedNamespace: 'sb-x.servicebus.windows.net', queue: 'license-jobs' });
  });
});
