/**
 * `import-gbl`, the reading and deciding part: reads the tenant's SKUs, its licensed groups and
 * their members, builds the rules, checks them with the app's own loader and compiler, then
 * compares every user's licenses today with what the rules would give. Writes nothing.
 *
 * Graph requests: 1 subscribedSkus, 1 group list per SKU of the tenant, 1 members list per
 * licensed group (and a transitiveMembers list per static group holding nested groups), then the
 * paged user list `plan` reads. Permissions: LicenseAssignment.Read.All, GroupMember.Read.All,
 * User.Read.All.
 */
import type { GraphGateway } from '../graph/gateway.js';
import type { GroupMember, GroupReader } from '../graph/group-reader.js';
import { DYNAMIC_MEMBERSHIP } from '../graph/group-reader.js';
import { Catalog } from '../licensing/catalog.js';
import { compileRules } from '../licensing/compile.js';
import type { CompiledRules } from '../licensing/types.js';
import { parseRules } from '../rules/load.js';
import { userSelectFor } from '../rules/select.js';
import { compareUser, type ComparisonSummary } from './compare.js';
import { renderRulesYaml, type RulesYamlOptions } from './rules-yaml.js';
import { rulesFromGroups, type GroupFacts, type ImportPlan } from './rules-from-groups.js';

export interface ImportDeps {
  gateway: GraphGateway;
  groups: GroupReader;
  correlationId: string;
}

export interface ImportOptions extends RulesYamlOptions {
  /** The rules file's name, for positions in messages should the generated file not load. */
  rulesName: string;
  usageLocation?: string;
}

export interface ImportResult {
  plan: ImportPlan;
  groups: GroupFacts[];
  /** The rules file text (already checked by the loader and the compiler). */
  yaml: string;
  compiled: CompiledRules;
  catalog: Catalog;
  comparison: ComparisonSummary;
}

const lower = (s: string): string => s.toLowerCase();

async function readGroups(
  reader: GroupReader,
  catalog: Catalog,
  correlationId: string,
): Promise<GroupFacts[]> {
  const opts = { correlationId };
  const groups = await reader.listLicensedGroups(
    catalog.skus().map((s) => s.skuId),
    opts,
  );
  const facts: GroupFacts[] = [];
  for (const group of groups) {
    const members = await reader.listMembers(group.id, false, opts);
    const dynamic = group.groupTypes.some((t) => lower(t) === lower(DYNAMIC_MEMBERSHIP));
    let nestedOnlyUsers: GroupMember[] = [];
    if (!dynamic && members.some((m) => m.kind === 'group')) {
      const direct = new Set(members.map((m) => lower(m.id)));
      nestedOnlyUsers = (await reader.listMembers(group.id, true, opts)).filter(
        (m) => m.kind === 'user' && !direct.has(lower(m.id)),
      );
    }
    facts.push({ group, members, nestedOnlyUsers });
  }
  return facts;
}

/** user id → the ids of groups in `facts` that have the user as a member (directly, or also nested). */
function membership(facts: readonly GroupFacts[], withNested: boolean): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of facts) {
    const users = [...f.members.filter((m) => m.kind === 'user'), ...(withNested ? f.nestedOnlyUsers : [])];
    for (const u of users) {
      const key = lower(u.id);
      let set = out.get(key);
      if (set === undefined) {
        set = new Set();
        out.set(key, set);
      }
      set.add(lower(f.group.id));
    }
  }
  return out;
}

/**
 * Reads the tenant and builds the import.
 * @throws GraphError when Graph fails; an Error (with the loader's problems as cause) should the
 *   generated rules not load, which would be a bug here, not a problem of the tenant.
 */
export async function importGroupLicensing(deps: ImportDeps, options: ImportOptions): Promise<ImportResult> {
  const { correlationId } = deps;
  const catalog = new Catalog(await deps.gateway.listSubscribedSkus({ correlationId }));
  const groups = await readGroups(deps.groups, catalog, correlationId);
  const plan = rulesFromGroups(
    groups,
    membership(groups, false),
    catalog,
    options.usageLocation === undefined ? {} : { usageLocation: options.usageLocation },
  );
  const yaml = renderRulesYaml(plan, options);
  let compiled: CompiledRules;
  let rulesFile;
  try {
    rulesFile = parseRules(yaml, options.rulesName);
    compiled = compileRules(rulesFile, catalog);
  } catch (cause) {
    throw new Error('the generated rules do not load; please report this with the message below', { cause });
  }

  // memberOf is transitive (checkMemberGroups): static groups count their nested members.
  const staticFacts = groups.filter((f) =>
    plan.carried.some((c) => c.id === lower(f.group.id) && c.kind === 'static'),
  );
  const transitiveGroups = membership(staticFacts, true);
  const input = { compiled, catalog, carried: plan.carried, transitiveGroups };
  const comparison: ComparisonSummary = { users: 0, concerned: 0, same: 0, differ: [] };
  for await (const page of deps.gateway.listUsers(userSelectFor(rulesFile), { correlationId })) {
    for (const user of page) {
      comparison.users++;
      const result = compareUser(user, input);
      if (result === null) continue;
      comparison.concerned++;
      if (result.changes.length === 0) comparison.same++;
      else comparison.differ.push(result);
    }
  }
  comparison.differ.sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  return { plan, groups, yaml, compiled, catalog, comparison };
}
