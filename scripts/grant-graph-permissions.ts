/**
 * Grants the app's managed identity the Microsoft Graph application permissions its rules need.
 *
 *   npm run grant-graph-permissions                 # dry run: what is granted, what is missing
 *   npm run grant-graph-permissions -- --apply      # grant the missing ones
 *
 * Options: --principal-id <service principal object id> | --client-id <identity client id>
 * (default: AZURE_MANAGED_IDENTITY_PRINCIPAL_ID from `azd env get-values`), --rules <file>
 * (default: RULES_PATH, else rules.yaml), --graph-url <base> (default: GRAPH_BASE_URL, else
 * https://graph.microsoft.com), --import-gbl (the identity will also run `ems-licensing import-gbl`
 * unattended: add GroupMember.Read.All for reading groups; an operator running it signed in as
 * themselves needs nothing here).
 *
 * Runs as the signed-in admin (`az login`; DefaultAzureCredential). Granting Graph application
 * permissions needs Privileged Role Administrator (or Global Administrator). Idempotent: granted
 * permissions are left alone, and nothing is ever revoked.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DefaultAzureCredential } from '@azure/identity';
import {
  entraConditionCount,
  MICROSOFT_GRAPH_APP_ID,
  planPermissionGrants,
  requiredGraphPermissions,
  rulesPermissionNeeds,
  type AppRole,
  type AppRoleAssignment,
} from '../lib/deploy/graph-permissions.js';
import { azdValue } from '../lib/deploy/azd-env.js';

const { values: args } = parseArgs({
  options: {
    apply: { type: 'boolean', default: false },
    'principal-id': { type: 'string' },
    'client-id': { type: 'string' },
    rules: { type: 'string' },
    'graph-url': { type: 'string' },
    'import-gbl': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'Usage: npm run grant-graph-permissions -- [--apply] [--principal-id ID | --client-id ID] [--rules FILE] [--graph-url URL] [--import-gbl]',
  );
  process.exit(0);
}

const graphBase = (args['graph-url'] ?? process.env.GRAPH_BASE_URL ?? 'https://graph.microsoft.com').replace(
  /\/+$/,
  '',
);
const rulesPath = args.rules ?? process.env.RULES_PATH ?? 'rules.yaml';
const credential = new DefaultAzureCredential();

class GraphCallError extends Error {
  override readonly name = 'GraphCallError';
}

function hintFor(status: number): string {
  if (status === 401) return ' Sign in as a tenant admin first: az login --tenant <tenant id>.';
  if (status === 403) {
    return ' Reading service principals needs Application.Read.All; granting Graph application permissions needs the Privileged Role Administrator (or Global Administrator) role.';
  }
  return '';
}

async function graph<T>(method: 'GET' | 'POST', pathOrUrl: string, body?: unknown): Promise<T> {
  const url = pathOrUrl.startsWith('https://') ? pathOrUrl : `${graphBase}/v1.0${pathOrUrl}`;
  const token = await credential.getToken(`${new URL(graphBase).origin}/.default`);
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    let detail = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
      if (parsed.error) detail = `${parsed.error.code ?? ''}: ${parsed.error.message ?? ''}`;
    } catch {
      // not JSON; keep the raw text
    }
    throw new GraphCallError(
      `${method} ${url} failed with ${response.status} ${detail}.${hintFor(response.status)}`,
    );
  }
  return (text ? JSON.parse(text) : {}) as T;
}

async function listAll<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined = path;
  while (next) {
    const page: { value: T[]; '@odata.nextLink'?: string } = await graph('GET', next);
    items.push(...page.value);
    next = page['@odata.nextLink'];
  }
  return items;
}

interface ServicePrincipal {
  id: string;
  appId: string;
  displayName: string;
}

async function identityServicePrincipal(): Promise<ServicePrincipal> {
  const select = '$select=id,appId,displayName';
  if (args['principal-id']) return graph('GET', `/servicePrincipals/${args['principal-id']}?${select}`);
  if (args['client-id']) return graph('GET', `/servicePrincipals(appId='${args['client-id']}')?${select}`);
  const fromAzd = await azdValue('AZURE_MANAGED_IDENTITY_PRINCIPAL_ID');
  if (!fromAzd) {
    throw new Error(
      'No identity given: pass --principal-id or --client-id, or run from the azd project after `azd up` (AZURE_MANAGED_IDENTITY_PRINCIPAL_ID).',
    );
  }
  return graph('GET', `/servicePrincipals/${fromAzd}?${select}`);
}

async function main(): Promise<void> {
  let rulesText: string;
  try {
    rulesText = await readFile(rulesPath, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read the rules file ${rulesPath}; pass --rules FILE (or set RULES_PATH)`, {
      cause: e,
    });
  }
  const needs = { ...rulesPermissionNeeds(rulesText, rulesPath), importsGroups: args['import-gbl'] };
  const needed = requiredGraphPermissions(needs);
  const entra = entraConditionCount(rulesText, rulesPath);

  const identity = await identityServicePrincipal();
  const graphSp = await graph<{ id: string; appRoles: AppRole[] }>(
    'GET',
    `/servicePrincipals(appId='${MICROSOFT_GRAPH_APP_ID}')?$select=id,appRoles`,
  );
  const existing = await listAll<AppRoleAssignment>(`/servicePrincipals/${identity.id}/appRoleAssignments`);
  const plan = planPermissionGrants(needed, graphSp.appRoles, graphSp.id, existing);

  console.log(
    `Identity: ${identity.displayName} (service principal ${identity.id}, client id ${identity.appId})`,
  );
  console.log(
    `Rules: ${rulesPath} (defaults.usageLocation ${needs.setsUsageLocation ? 'set' : 'not set'}; memberOf ${needs.usesMemberOf ? 'used' : 'not used'}; ${entra} entra rule(s), which read user properties only)${needs.importsGroups ? '; this identity also runs import-gbl' : ''}`,
  );
  console.log('Microsoft Graph application permissions:');
  for (const g of plan.granted)
    console.log(`  granted  ${g.permission.value.padEnd(32)} ${g.permission.why}`);
  for (const g of plan.toGrant)
    console.log(`  missing  ${g.permission.value.padEnd(32)} ${g.permission.why}`);
  for (const x of plan.extra)
    console.log(`  extra    ${x.value.padEnd(32)} granted but not needed by these rules (left alone)`);

  if (plan.toGrant.length === 0) {
    console.log('Nothing to grant.');
    return;
  }
  if (!args.apply) {
    console.log(
      `Dry run: nothing granted. Run again with --apply to grant ${plan.toGrant.length} permission(s).`,
    );
    return;
  }
  for (const g of plan.toGrant) {
    await graph('POST', `/servicePrincipals/${identity.id}/appRoleAssignments`, {
      principalId: identity.id,
      resourceId: graphSp.id,
      appRoleId: g.appRoleId,
    });
    console.log(`  granted  ${g.permission.value}`);
  }
  console.log(
    'Done. The app sees them with its next Graph token; Azure caches managed identity tokens, so allow up to 24 hours.',
  );
}

try {
  await main();
} catch (e) {
  console.error(`grant-graph-permissions: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
