/**
 * Decision speed (issue 9, part 5): the full per-user decision the engine makes for every user it
 * reads, with no I/O: evaluate the rules (lib/rules/evaluate.ts), the desired state
 * (lib/licensing/desired.ts), the plan (lib/licensing/planner.ts), on one core.
 *
 *   npx tsx bench/decision.bench.ts [--users 20000] [--rounds 15] [--seed 20240611]
 *
 * Users: a tenant generated from the bundled sample (bench/tenant-generator.ts: synced and
 * cloud-only, members and guests, contractors, users without a usage location, EMS held right and
 * wrong, licenses inherited from groups), rendered by the Graph simulator exactly as Graph returns
 * them (assignedLicenses and licenseAssignmentStates included), then parsed with the gateway's
 * schema. Rules: examples/rules.yaml, compiled against the sample's SKUs. The users are decided
 * `--rounds` times over after a warm-up. Each round is timed by the CPU time of this process
 * (process.cpuUsage: what one core spent, however loaded the machine is) and by the wall clock;
 * the median round is printed, with the fastest and the slowest.
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSampleTenant, startSimulator } from '@ems-licensing/graph-simulator';
import { graphUserSchema, type GraphUser } from '../lib/graph/types.js';
import { Catalog } from '../lib/licensing/catalog.js';
import { compileRules } from '../lib/licensing/compile.js';
import { desiredStateFor } from '../lib/licensing/desired.js';
import { planLicenses } from '../lib/licensing/planner.js';
import { evaluateRules } from '../lib/rules/evaluate.js';
import { loadRulesFile } from '../lib/rules/load.js';
import { generateTenant } from './tenant-generator.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '15' },
    seed: { type: 'string', default: '20240611' },
  },
});
const userCount = Number(args.users);
const rounds = Number(args.rounds);
if (!Number.isInteger(userCount) || userCount < 1)
  throw new Error(`--users must be a positive integer, got ${args.users}`);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds must be a positive integer, got ${args.rounds}`);

const sample = await loadSampleTenant();
const tenant = generateTenant(sample, userCount, Number(args.seed));
const sim = await startSimulator({ tenant });
const users: GraphUser[] = sim.tenant.users().map((u) => graphUserSchema.parse(u));
const catalog = new Catalog(sim.tenant.skus());
await sim.close();
const rulesFile = await loadRulesFile(fileURLToPath(new URL('../examples/rules.yaml', import.meta.url)));
const rules = compileRules(rulesFile, catalog);
const noGroups: ReadonlySet<string> = new Set();
const freeSeats = (skuId: string) => catalog.freeSeats(skuId);
const skuPartNumber = (skuId: string) => catalog.skuPartNumber(skuId);
const defaultUsageLocation = rules.defaults.usageLocation ?? null;

/** One round: the whole decision for every user; returns a checksum so nothing is optimised away. */
function round(): number {
  let actions = 0;
  for (const user of users) {
    const evaluation = evaluateRules(rules, user, noGroups);
    const desired = desiredStateFor(evaluation, rules, 'reconcile');
    const plan = planLicenses({
      user,
      desired,
      managedSkuIds: rules.managedSkuIds,
      freeSeats,
      defaultUsageLocation,
      skuPartNumber,
    });
    actions += plan.actions.length + plan.conflicts.length;
  }
  return actions;
}

const checksum = round();
for (let i = 0; i < 3; i++) round(); // warm-up: let the JIT settle
const cpuTimes: number[] = [];
const wallTimes: number[] = [];
for (let i = 0; i < rounds; i++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  if (round() !== checksum) throw new Error('the decision is not deterministic');
  wallTimes.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  cpuTimes.push((c.user + c.system) / 1000);
}
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const perSecond = (ms: number) => Math.round((users.length / ms) * 1000);
const fmt = (n: number) => n.toLocaleString('en-US');
const summary = (label: string, xs: number[]) => {
  const s = sorted(xs);
  const median = s[Math.floor(s.length / 2)] ?? 0;
  return (
    `${label}: median ${fmt(perSecond(median))} users/s (${((median / users.length) * 1000).toFixed(2)} µs per user); ` +
    `fastest round ${fmt(perSecond(s[0] ?? 0))}, slowest ${fmt(perSecond(s.at(-1) ?? 0))} users/s`
  );
};
console.log(
  `Decision speed: node ${process.version}, ${String(availableParallelism())} cores (${cpus()[0]?.model.trim() ?? '?'}), ` +
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}; ${fmt(users.length)} users, examples/rules.yaml, ` +
    `${String(rounds)} rounds after 3 warm-up rounds; ${fmt(checksum)} actions and conflicts per round.`,
);
console.log(summary('evaluate + desired + plan, by CPU time', cpuTimes));
console.log(summary('evaluate + desired + plan, by wall time', wallTimes));
