/**
 * Entra membership rules: what parsing costs, what evaluating an `entra:` condition costs next to
 * the same test written as YAML conditions, and what `import-gbl` costs end to end.
 *
 *   npx tsx bench/entra-rule.bench.ts [--users 20000] [--sizes 300,5000,20000] [--rounds 5]
 *
 * 1. Parse: every documented example rule (groups-dynamic-membership), parsed without the cache,
 *    10,000 times each; microseconds per parse.
 * 2. Evaluate: `evaluateRules` (with the per-clause trace `explain` uses) over `--users` users
 *    generated from the sample tenant, for three tests written both ways; the median of
 *    `--rounds` rounds, in evaluations per second.
 * 3. Import: `importGroupLicensing` (lib/migrate/import-gbl.ts) with the real Graph gateway and
 *    group reader over HTTP against the Graph simulator, on the sample tenant turned into an
 *    organisation that licenses EMS and E3 through two dynamic groups and one static group
 *    (test/support/gbl-tenant.ts), at each size. The simulator runs in this process, so wall time
 *    includes its work; requests are counted by the simulator.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadBaseConfig } from '../lib/config.js';
import type { GraphUser } from '../lib/graph/types.js';
import { groupReaderFromConfig } from '../lib/graph/group-reader.js';
import { graphGatewayFromConfig } from '../lib/graph/graph-gateway.js';
import type { CompiledRule } from '../lib/licensing/types.js';
import { silentLogger } from '../lib/log.js';
import { importGroupLicensing } from '../lib/migrate/import-gbl.js';
import { parseEntraRule } from '../lib/rules/entra/parse.js';
import { evaluateRules } from '../lib/rules/evaluate.js';
import type { Condition } from '../lib/rules/schema.js';
import { loadSampleTenant, startSimulator } from '@ems-licensing/graph-simulator';
import { gblVariant, SALES_RULE } from '../test/support/gbl-tenant.js';
import { generateTenant } from './tenant-generator.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    sizes: { type: 'string', default: '300,5000,20000' },
    rounds: { type: 'string', default: '5' },
  },
});
const USERS = Number(values.users);
const SIZES = values.sizes.split(',').map(Number);
const ROUNDS = Number(values.rounds);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const DOC_EXAMPLES = [
  'user.department -eq "Sales"',
  'user.department -in ["50001","50002","50003","50005","50006","50007","50008","50016","50020","50024","50038","50039","51100"]',
  'user.displayName -match "^Da.*"',
  '(user.department -eq "Sales") -or (user.department -eq "Marketing")',
  '(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")',
  'user.country \u2013eq "US" \u2013and (user.department \u2013eq "Marketing" \u2013or user.department \u2013eq "Sales")',
  'user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")',
  '(user.proxyAddresses -any (_ -startsWith "contoso"))',
  '(user.objectId -ne null) -and (user.userType -eq "Member")',
];

function benchParse(): void {
  const n = 10_000;
  console.log('\n## Parse (no cache), 10,000 times each\n');
  console.log('| rule | µs/parse |');
  console.log('| :--- | -------: |');
  for (const rule of DOC_EXAMPLES) {
    for (let i = 0; i < 500; i++) parseEntraRule(rule);
    const start = performance.now();
    for (let i = 0; i < n; i++) parseEntraRule(rule);
    const us = ((performance.now() - start) * 1000) / n;
    console.log(`| \`${rule.length > 70 ? `${rule.slice(0, 67)}...` : rule}\` | ${fmt(us, 1)} |`);
  }
}

const PAIRS: { name: string; yaml: Condition; entra: string }[] = [
  {
    name: 'one equality',
    yaml: { attribute: 'department', equals: 'Sales' },
    entra: 'user.department -eq "Sales"',
  },
  {
    name: 'Sales employees, enabled (3 clauses)',
    yaml: {
      all: [
        { attribute: 'department', equals: 'Sales' },
        { not: { attribute: 'employeeType', equals: 'Contractor' } },
        { attribute: 'accountEnabled', equals: true },
      ],
    },
    entra: SALES_RULE,
  },
  {
    name: 'list of 6 countries or a domain',
    yaml: {
      any: [
        {
          attribute: 'country',
          in: ['France', 'Germany', 'Netherlands', 'Canada', 'India', 'United Kingdom'],
        },
        { attribute: 'upnDomain', endsWith: 'fabrikam.com' },
      ],
    },
    entra:
      'user.country -in ["France","Germany","Netherlands","Canada","India","United Kingdom"] -or user.userPrincipalName -endsWith "fabrikam.com"',
  },
];

async function benchEvaluate(): Promise<void> {
  const tenant = generateTenant(await loadSampleTenant(), USERS);
  const users: GraphUser[] = tenant.users.map((u) => ({
    ...(u as unknown as GraphUser),
    assignedLicenses: [],
    licenseAssignmentStates: [],
  }));
  const rule = (when: Condition): CompiledRule => ({
    name: 'r',
    index: 0,
    description: null,
    when,
    licenses: 'none',
  });
  const none = new Set<string>();
  console.log(`\n## Evaluate, ${fmt(users.length)} users, median of ${ROUNDS} rounds\n`);
  console.log('| test | YAML conditions, evaluations/s | entra rule, evaluations/s | matches |');
  console.log('| :--- | ----------------------------: | ------------------------: | ------: |');
  for (const pair of PAIRS) {
    const rates: Record<'yaml' | 'entra', number[]> = { yaml: [], entra: [] };
    let matches: Record<'yaml' | 'entra', number> = { yaml: 0, entra: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ['yaml', 'entra'] as const) {
        const rules = { rules: [rule(kind === 'yaml' ? pair.yaml : { entra: pair.entra })] };
        let matched = 0;
        const start = performance.now();
        for (const u of users) if (evaluateRules(rules, u, none).matched !== null) matched++;
        rates[kind].push(users.length / ((performance.now() - start) / 1000));
        matches = { ...matches, [kind]: matched };
      }
    }
    const same =
      matches.yaml === matches.entra ? fmt(matches.entra) : `${fmt(matches.yaml)} vs ${fmt(matches.entra)}`;
    console.log(`| ${pair.name} | ${fmt(median(rates.yaml))} | ${fmt(median(rates.entra))} | ${same} |`);
  }
}

async function benchImport(): Promise<void> {
  const sample = await loadSampleTenant();
  console.log('\n## import-gbl end to end (two dynamic groups, one static), simulator in this process\n');
  console.log(
    '| users | wall | list users | list groups | members | transitive | skus | RU (est.) | users compared | differ | heap used MiB |',
  );
  console.log(
    '| ----: | ---: | ---------: | ----------: | ------: | ---------: | ---: | --------: | -------------: | -----: | ------------: |',
  );
  for (const size of SIZES) {
    const tenant = gblVariant(generateTenant(sample, size));
    const sim = await startSimulator({ tenant });
    try {
      const config = loadBaseConfig({ GRAPH_BASE_URL: sim.url });
      const deps = {
        gateway: graphGatewayFromConfig(config, silentLogger()),
        groups: groupReaderFromConfig(config, silentLogger()),
        correlationId: '00000000-0000-4000-8000-000000000000',
      };
      const options = {
        rulesName: 'rules.gbl.yaml',
        reportName: 'rules.gbl.report.md',
        schemaPath: null,
        now: new Date(),
        usageLocation: 'US',
      };
      sim.counters.reset();
      const start = performance.now();
      const result = await importGroupLicensing(deps, options);
      const wall = (performance.now() - start) / 1000;
      const c = sim.counters;
      // Costs from learn.microsoft.com/graph/throttling-limits: GET users 2, members 3,
      // transitiveMembers 5, subscribedSkus 3, an unlisted GET 1; $select takes 1 off (minimum 1).
      const ru =
        c.get('listUsers') * 1 +
        c.get('listGroups') * 1 +
        c.get('listGroupMembers') * 2 +
        c.get('listGroupTransitiveMembers') * 4 +
        c.get('subscribedSkus') * 3;
      console.log(
        `| ${fmt(size)} | ${fmt(wall, 2)} s | ${c.get('listUsers')} | ${c.get('listGroups')} | ${c.get('listGroupMembers')} | ${c.get('listGroupTransitiveMembers')} | ${c.get('subscribedSkus')} | ${ru} | ${fmt(result.comparison.users)} | ${result.comparison.differ.length} | ${fmt(process.memoryUsage().heapUsed / 2 ** 20)} |`,
      );
    } finally {
      await sim.close();
    }
  }
}

console.log(
  `Node ${process.version}; load average ${(await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
benchParse();
await benchEvaluate();
await benchImport();
