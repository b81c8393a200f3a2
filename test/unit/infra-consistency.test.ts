/**
 * Keeps infra/, azure.yaml, host.json, local.settings.example.json and the code in agreement, by
 * reading the files (the Bicep CLI is not available here). The Bicep is read with the small scanner
 * in test/support/bicep-scan.ts, which is tested first.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { functionsEnvSchema, loadFunctionsConfig } from '../../lib/config.js';
import {
  arrayItems,
  avmModules,
  literalAfter,
  objectEntries,
  scalarValue,
  stringValue,
} from '../support/bicep-scan.js';
import { GRAPH_PERMISSIONS } from '../../lib/deploy/graph-permissions.js';
import { KEY_VAULT_SECRETS, LOCAL_ONLY_SETTINGS, RUNTIME_SETTINGS } from '../../lib/deploy/settings.js';
import { DEFAULT_SUMMARY_CONTAINER, TABLE_NAMES } from '../../lib/store/table-clients.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');

const mainBicep = read('infra/main.bicep');
const apiBicep = read('infra/app/api.bicep');
const rbacBicep = read('infra/app/rbac.bicep');
const allInfra = [mainBicep, apiBicep, rbacBicep].join('\n');

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`Not found in infra: ${what}`);
  return value;
}

/** The object literal after `anchor`, as entries. */
function objectAt(text: string, anchor: RegExp, what: string): Map<string, string> {
  return objectEntries(required(literalAfter(text, anchor), what));
}

/** A nested entry that must be an object literal. */
function child(entries: Map<string, string>, key: string, what: string): Map<string, string> {
  return objectEntries(required(entries.get(key), `${what}.${key}`));
}

/** `params` of `module <name> '<ref>' = {`. */
function moduleParams(text: string, name: string): Map<string, string> {
  return child(
    objectAt(text, new RegExp(`module ${name} '[^']+'\\s*=\\s*`), `module ${name}`),
    'params',
    name,
  );
}

/** Default values of `param <name> <type> = <literal>` in main.bicep. */
function paramDefault(name: string): string | undefined {
  const m = new RegExp(`^param ${name} \\w+ = (.+)$`, 'm').exec(mainBicep);
  return m?.[1]?.trim();
}

/** The value of `var <name> = '<literal>'` in main.bicep. */
function varValue(name: string): string | undefined {
  return new RegExp(`^var ${name} = (.+)$`, 'm').exec(mainBicep)?.[1]?.trim();
}

/** A value: a string literal, or a main.bicep parameter's default or variable, else the expression. */
function resolved(expr: string | undefined): string | undefined {
  if (expr === undefined) return undefined;
  const id = expr.trim();
  return stringValue(id) ?? stringValue(paramDefault(id)) ?? stringValue(varValue(id)) ?? id;
}

const platformSettings = objectAt(apiBicep, /var platformSettings\s*=\s*/, 'var platformSettings');
const tunables = objectAt(mainBicep, /param tunables object\s*=\s*/, 'param tunables');
const infraSettings = new Map([...tunables, ...platformSettings]);

const schemaShape = functionsEnvSchema.shape as Record<
  string,
  { safeParse(v: unknown): { success: boolean; data?: unknown } }
>;
const schemaKeys = Object.keys(schemaShape);
const requiredSchemaKeys = schemaKeys.filter((k) => !schemaShape[k]?.safeParse(undefined).success);
const schemaDefault = (key: string): unknown => schemaShape[key]?.safeParse(undefined).data;

const localSettings = JSON.parse(read('local.settings.example.json')) as { Values: Record<string, string> };

describe('bicep scanner', () => {
  it('reads nested objects and arrays, skipping strings, interpolation and comments', () => {
    const text = `
var x = {
  // a comment with { braces
  a: 'it''s not { a brace'
  'quoted-key': '\${foo({ b: 1 })}/path'
  n: 42
  list: [
    { name: 'one' }
    { name: 'two', flag: true }
  ]
  cond: empty(y)
    ? 'p'
    : 'q'
}`;
    const entries = objectEntries(required(literalAfter(text, /var x\s*=\s*/), 'x'));
    expect([...entries.keys()]).toEqual(['a', 'quoted-key', 'n', 'list', 'cond']);
    expect(scalarValue(entries.get('n'))).toBe(42);
    expect(stringValue(entries.get('quoted-key'))).toBeUndefined();
    const items = arrayItems(required(entries.get('list'), 'list')).map((i) => objectEntries(i));
    expect(items.map((i) => stringValue(i.get('name')))).toEqual(['one', 'two']);
    expect(scalarValue(items[1]?.get('flag'))).toBe(true);
    expect(entries.get('cond')).toMatch(/\? 'p' : 'q'$/);
  });
});

describe('app settings in infra', () => {
  it('sets every setting the schema requires (no default, not optional)', () => {
    expect(requiredSchemaKeys.length).toBeGreaterThan(0);
    expect(requiredSchemaKeys.filter((k) => !infraSettings.has(k))).toEqual([]);
  });

  it('sets every schema setting except the local-only ones, and nothing unknown', () => {
    const expected = schemaKeys.filter((k) => !LOCAL_ONLY_SETTINGS.includes(k));
    expect(expected.filter((k) => !infraSettings.has(k))).toEqual([]);
    expect(LOCAL_ONLY_SETTINGS.filter((k) => infraSettings.has(k))).toEqual([]);
    const known = new Set([...schemaKeys, ...RUNTIME_SETTINGS]);
    expect([...infraSettings.keys()].filter((k) => !known.has(k))).toEqual([]);
  });

  it('gives the tunables the same defaults as lib/config.ts', () => {
    for (const [key, expr] of tunables) {
      expect(schemaKeys, key).toContain(key);
      expect(stringValue(expr), key).toBe(String(schemaDefault(key)));
    }
    expect(resolved(platformSettings.get('LICENSE_JOBS_QUEUE'))).toBe(schemaDefault('LICENSE_JOBS_QUEUE'));
    expect(resolved(platformSettings.get('SUMMARY_CONTAINER'))).toBe(schemaDefault('SUMMARY_CONTAINER'));
    expect(resolved(platformSettings.get('GRAPH_BASE_URL'))).toBe(schemaDefault('GRAPH_BASE_URL'));
    expect(DEFAULT_SUMMARY_CONTAINER).toBe(schemaDefault('SUMMARY_CONTAINER'));
  });

  it('uses identity-based connections only', () => {
    expect(stringValue(platformSettings.get('AzureWebJobsStorage__credential'))).toBe('managedidentity');
    expect(stringValue(platformSettings.get('ServiceBusConnection__credential'))).toBe('managedidentity');
    for (const key of [
      'AzureWebJobsStorage__clientId',
      'ServiceBusConnection__clientId',
      'AZURE_CLIENT_ID',
    ]) {
      expect(platformSettings.get(key), key).toBe('identityClientId');
    }
    expect(infraSettings.has('AzureWebJobsStorage')).toBe(false);
    expect(platformSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toContain('Authorization=AAD');
    // No keys or connection strings anywhere in infra.
    expect(allInfra).not.toMatch(/listKeys\(|AccountKey=|SharedAccessKey|listConnectionStrings/);
  });

  it('reads the two secrets through Key Vault references with the user-assigned identity', () => {
    for (const [setting, secret] of Object.entries(KEY_VAULT_SECRETS)) {
      expect(platformSettings.get(setting), setting).toMatch(
        new RegExp(
          `^'@Microsoft\\.KeyVault\\(SecretUri=\\$\\{kv\\.properties\\.vaultUri\\}secrets/${secret}\\)'$`,
        ),
      );
    }
    const kv = moduleParams(mainBicep, 'keyVault');
    expect(scalarValue(kv.get('enableRbacAuthorization'))).toBe(true);
    const secretNames = arrayItems(required(kv.get('secrets'), 'keyVault.secrets')).map((s) =>
      stringValue(objectEntries(s).get('name')),
    );
    expect(secretNames.sort()).toEqual(Object.values(KEY_VAULT_SECRETS).sort());
    for (const s of arrayItems(required(kv.get('secrets'), 'keyVault.secrets'))) {
      const param = required(objectEntries(s).get('value'), 'secret value');
      expect(mainBicep, `${param} must be @secure()`).toMatch(
        new RegExp(`@secure\\(\\)\\n(@.+\\n)*param ${param} string`),
      );
    }
    expect(moduleParams(apiBicep, 'site').get('keyVaultAccessIdentityResourceId')).toBe('identityId');
  });

  it('sets AZURE_TENANT_ID to the tenant it deploys into, which the intake compares notifications with', () => {
    // tenant() is the deployment's tenant (Bicep); the app reads it as config.tenantId.
    expect(platformSettings.get('AZURE_TENANT_ID')).toBe('tenant().tenantId');
    expect(LOCAL_ONLY_SETTINGS).not.toContain('AZURE_TENANT_ID');
    const tenantId = '84bd8158-6d4d-4958-8b9f-9d6445542f95';
    expect(loadFunctionsConfig({ ...localSettings.Values, AZURE_TENANT_ID: tenantId }).tenantId).toBe(
      tenantId,
    );
  });

  it('points NOTIFICATION_URL at the graph-notifications function', () => {
    expect(platformSettings.get('NOTIFICATION_URL')).toBe("'https://${hostName}/api/graph-notifications'");
  });
});

describe('local.settings.example.json', () => {
  const values = localSettings.Values;

  it('lists only schema or Functions runtime settings', () => {
    const known = new Set([...schemaKeys, ...RUNTIME_SETTINGS]);
    expect(Object.keys(values).filter((k) => !known.has(k))).toEqual([]);
  });

  it('lists every schema setting', () => {
    expect(schemaKeys.filter((k) => !(k in values))).toEqual([]);
  });

  it('is a configuration the app accepts, on local emulators only', () => {
    const config = loadFunctionsConfig(values);
    expect(config.graph.simulator).toBe(true);
    expect(values['AzureWebJobsStorage']).toBe('UseDevelopmentStorage=true');
    expect(values['FUNCTIONS_WORKER_RUNTIME']).toBe('node');
  });
});

describe('Function App', () => {
  const site = moduleParams(apiBicep, 'site');
  const fac = child(site, 'functionAppConfig', 'site');

  it('runs on Flex Consumption, Node 22, deployed from a blob container with the identity', () => {
    const runtime = child(fac, 'runtime', 'functionAppConfig');
    expect(stringValue(runtime.get('name'))).toBe('node');
    expect(stringValue(runtime.get('version'))).toBe('22');
    const storage = child(child(fac, 'deployment', 'functionAppConfig'), 'storage', 'deployment');
    expect(stringValue(storage.get('type'))).toBe('blobContainer');
    expect(stringValue(child(storage, 'authentication', 'storage').get('type'))).toBe('UserAssignedIdentity');
    const sku = child(moduleParams(mainBicep, 'appServicePlan'), 'sku', 'appServicePlan');
    expect(stringValue(sku.get('name'))).toBe('FC1');
    expect(stringValue(sku.get('tier'))).toBe('FlexConsumption');
    expect(site.get('appSettingsKeyValuePairs')).toBe('appSettings');
    expect(apiBicep).toMatch(/var appSettings = union\(tunables, platformSettings\)/);
  });

  it('pins every Azure Verified Module to a version', () => {
    const refs = avmModules(allInfra).map((m) => m.path);
    expect(refs.sort()).toEqual(
      [
        'insights/component',
        'key-vault/vault',
        'managed-identity/user-assigned-identity',
        'operational-insights/workspace',
        'service-bus/namespace',
        'storage/storage-account',
        'web/serverfarm',
        'web/site',
      ].sort(),
    );
    expect(allInfra.match(/'br\/public:[^']*'/g)?.length).toBe(refs.length);
  });
});

describe('storage account', () => {
  const storage = moduleParams(mainBicep, 'storage');

  it('has shared-key access off', () => {
    expect(scalarValue(storage.get('allowSharedKeyAccess'))).toBe(false);
    expect(scalarValue(storage.get('allowBlobPublicAccess'))).toBe(false);
  });

  it('creates every table the code uses', () => {
    const declared = arrayItems(
      required(/var tableNames = (\[.*\])/.exec(mainBicep)?.[1], 'var tableNames'),
    ).map((t) => stringValue(t));
    expect(child(storage, 'tableServices', 'storage').get('tables')).toBe(
      '[for t in tableNames: { name: t }]',
    );
    expect(TABLE_NAMES.filter((t) => !declared.includes(t))).toEqual([]);
  });

  it('creates the deployment and summaries containers', () => {
    const containers = arrayItems(
      required(child(storage, 'blobServices', 'storage').get('containers'), 'containers'),
    ).map((c) => resolved(objectEntries(c).get('name')));
    expect(containers).toContain(DEFAULT_SUMMARY_CONTAINER);
    const deployment = child(
      child(moduleParams(apiBicep, 'site'), 'functionAppConfig', 'site'),
      'deployment',
      'fac',
    );
    expect(child(deployment, 'storage', 'deployment').get('value')).toBe(
      "'${blobEndpoint}${deploymentContainerName}'",
    );
    expect(moduleParams(mainBicep, 'api').get('deploymentContainerName')).toBe('deploymentContainerName');
    expect(containers).toContain(
      required(stringValue(varValue('deploymentContainerName')), 'var deploymentContainerName'),
    );
  });
});

describe('Service Bus', () => {
  const sb = moduleParams(mainBicep, 'serviceBus');
  const queues = arrayItems(required(sb.get('queues'), 'serviceBus.queues')).map((q) => objectEntries(q));
  const queue = required(
    queues.find((q) => resolved(q.get('name')) === schemaDefault('LICENSE_JOBS_QUEUE')),
    `a queue named ${String(schemaDefault('LICENSE_JOBS_QUEUE'))} (the LICENSE_JOBS_QUEUE default)`,
  );
  const duration = /^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/;

  it('has sessions, duplicate detection with an explicit window, and an explicit delivery limit', () => {
    expect(scalarValue(queue.get('requiresSession'))).toBe(true);
    expect(scalarValue(queue.get('requiresDuplicateDetection'))).toBe(true);
    expect(stringValue(queue.get('duplicateDetectionHistoryTimeWindow'))).toMatch(duration);
    expect(scalarValue(queue.get('maxDeliveryCount'))).toEqual(expect.any(Number));
    expect(scalarValue(queue.get('deadLetteringOnMessageExpiration'))).toBe(true);
    expect(stringValue(queue.get('defaultMessageTimeToLive'))).toMatch(duration);
    // Peek-lock duration is at most 5 minutes.
    expect(['PT1M', 'PT2M', 'PT3M', 'PT4M', 'PT5M']).toContain(stringValue(queue.get('lockDuration')));
  });

  it('is a Standard (or Premium) namespace with local (SAS) auth disabled', () => {
    expect(scalarValue(sb.get('disableLocalAuth'))).toBe(true);
    expect(['Standard', 'Premium']).toContain(stringValue(child(sb, 'skuObject', 'serviceBus').get('name')));
  });
});

describe('role assignments', () => {
  const roles: Record<string, string> = {
    'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    'Azure Service Bus Data Sender': '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
    'Azure Service Bus Data Receiver': '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
    'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
    'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb',
  };
  const varGuid = new Map(
    [...rbacBicep.matchAll(/^var (\w+) = '([0-9a-f-]{36})'/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
  );
  const identityRoles = [
    ...rbacBicep.matchAll(
      /resource \w+ 'Microsoft\.Authorization\/roleAssignments@[^']+' = (?:if \([^)]*\) )?/g,
    ),
  ]
    .map((m) =>
      objectEntries(required(literalAfter(rbacBicep.slice(m.index), /=\s*(?:if \([^)]*\) )?/), 'role')),
    )
    .map((r) => child(r, 'properties', 'roleAssignment'))
    .filter((p) => p.get('principalId') === 'identityPrincipalId')
    .map(
      (p) =>
        /subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+)\)/.exec(
          p.get('roleDefinitionId') ?? '',
        )?.[1],
    )
    .map((v) => varGuid.get(v ?? ''));

  it.each(Object.entries(roles))('gives the identity %s (%s)', (_name, guid) => {
    expect(identityRoles).toContain(guid);
  });

  it('gives the operator table write access (checkpoint reset, CLI apply), with the principal type from azd', () => {
    const operator =
      /resource \w+ 'Microsoft\.Authorization\/roleAssignments@[^']+' = if \(!empty\(operatorPrincipalId\)\) \{[^}]*?roleDefinitions', (\w+)\)/g;
    const operatorRoles = [...rbacBicep.matchAll(operator)].map((m) => varGuid.get(m[1] ?? ''));
    expect(operatorRoles).toContain(roles['Storage Table Data Contributor']);
    expect(read('infra/main.parameters.json')).toContain('${AZURE_PRINCIPAL_TYPE=User}');
  });

  it('deploys the Function App only after its roles exist (Key Vault references resolve at first start)', () => {
    const api = mainBicep.slice(mainBicep.indexOf("module api './app/api.bicep'"));
    expect(api.slice(0, api.indexOf('params:'))).toMatch(/dependsOn: \[[^\]]*\brbac\b/);
  });
});

describe('host.json', () => {
  const host = JSON.parse(read('host.json')) as {
    extensionBundle: { id: string; version: string };
    functionTimeout: string;
    extensions?: { serviceBus?: Record<string, unknown> };
  };
  const seconds = (t: string) => t.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);

  it('uses extension bundle 4.x', () => {
    expect(host.extensionBundle).toEqual({
      id: 'Microsoft.Azure.Functions.ExtensionBundle',
      version: '[4.*, 5.0.0)',
    });
  });

  it('configures Service Bus in the extension 5.x form', () => {
    const sb = required(host.extensions?.serviceBus, 'extensions.serviceBus');
    for (const old of ['messageHandlerOptions', 'sessionHandlerOptions', 'batchOptions']) {
      expect(sb, old).not.toHaveProperty(old);
    }
    expect(sb['autoCompleteMessages']).toBe(true);
    for (const key of [
      'prefetchCount',
      'maxConcurrentCalls',
      'maxConcurrentSessions',
      'clientRetryOptions',
    ]) {
      expect(sb, key).toHaveProperty(key);
    }
    // The lock is renewed for at least as long as an invocation may run.
    expect(seconds(String(sb['maxAutoLockRenewalDuration']))).toBeGreaterThanOrEqual(
      seconds(host.functionTimeout),
    );
  });
});

describe('azure.yaml and parameters', () => {
  it('deploys the root folder as a TypeScript function service', () => {
    const azure = parseYaml(read('azure.yaml')) as {
      name: string;
      services: Record<string, Record<string, unknown>>;
    };
    expect(azure.name).toBe('ems-licensing');
    expect(azure.services['api']).toMatchObject({ project: '.', host: 'function', language: 'ts' });
    expect(apiBicep).toMatch(/'azd-service-name': serviceName/);
    expect(apiBicep).toMatch(/param serviceName string = 'api'/);
  });

  it('provides every main.bicep parameter without a default, and no unknown one', () => {
    const params = JSON.parse(read('infra/main.parameters.json')) as { parameters: Record<string, unknown> };
    const declared = [...mainBicep.matchAll(/^param (\w+) (\w+)( = .+)?$/gm)];
    const withoutDefault = declared.filter((m) => !m[3]).map((m) => m[1]);
    expect(withoutDefault.filter((p) => p !== undefined && !(p in params.parameters))).toEqual([]);
    const names = declared.map((m) => m[1]);
    expect(Object.keys(params.parameters).filter((p) => !names.includes(p))).toEqual([]);
  });
});

describe('functions and infra', () => {
  const dir = path.join(root, 'functions');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ts')) : [];
  const sources = files.map((f) => ({ file: f, text: readFileSync(path.join(dir, f), 'utf8') }));
  const serviceBusTriggers = sources.filter((s) => /app\.serviceBus(Queue|Topic)\(/.test(s.text));

  it('has at least one Service Bus trigger in functions/*.ts', () => {
    expect(serviceBusTriggers.map((s) => s.file)).not.toEqual([]);
  });

  it('gives every trigger connection an identity-based namespace setting', () => {
    const connections = new Set(
      sources.flatMap((s) => [...s.text.matchAll(/connection:\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '')),
    );
    expect(connections.size).toBeGreaterThan(0);
    for (const name of connections) {
      expect(infraSettings.has(`${name}__fullyQualifiedNamespace`), `${name}__fullyQualifiedNamespace`).toBe(
        true,
      );
      expect(stringValue(platformSettings.get(`${name}__credential`)), `${name}__credential`).toBe(
        'managedidentity',
      );
    }
  });

  it('binds the session-enabled queue through a %setting% that infra sets, with sessions on', () => {
    expect(serviceBusTriggers.length).toBeGreaterThan(0);
    for (const { file, text } of serviceBusTriggers) {
      const queueName = /queueName:\s*['"]%(\w+)%['"]/.exec(text)?.[1];
      expect(queueName, `${file} queueName`).toBe('LICENSE_JOBS_QUEUE');
      expect(infraSettings.has(queueName ?? '')).toBe(true);
      expect(text, `${file} must set isSessionsEnabled: true (the queue requires sessions)`).toMatch(
        /isSessionsEnabled:\s*true/,
      );
    }
  });

  it('registers graph-notifications on the route NOTIFICATION_URL points at', () => {
    const http = sources.filter((s) => /route:\s*['"]graph-notifications['"]/.test(s.text));
    expect(http.map((s) => s.file)).not.toEqual([]);
  });
});

describe('docs/operations.md', () => {
  const doc = read('docs/operations.md');

  it('explains every setting of local.settings.example.json and every infra setting', () => {
    const names = new Set([...Object.keys(localSettings.Values), ...infraSettings.keys()]);
    expect([...names].filter((n) => !doc.includes(n.split('__')[0] ?? n))).toEqual([]);
    const rows = [...doc.matchAll(/^\| `([A-Za-z0-9_]+)`\s+\|/gm)].map((m) => m[1]);
    expect(Object.keys(localSettings.Values).filter((k) => !rows.includes(k))).toEqual([]);
  });

  it('cites every Graph permission of lib/deploy/graph-permissions.ts', () => {
    expect(GRAPH_PERMISSIONS.map((p) => p.value).filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
  });
});
