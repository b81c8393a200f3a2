/**
 * A plan as a reviewable artifact (`plan --out FILE`, `revert RUN_ID --out FILE`): the tenant, the
 * rules file's hash, and per user the licenses as read, the actions and the licenses expected
 * after them, with counts per SKU and action first for a change-approval board. `apply --plan FILE`
 * executes exactly such a plan, and nothing else. The file is JSON; it is parsed back with the
 * schema below, so an edited or truncated file is refused with what is wrong.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { AssignedLicense } from '../graph/types.js';
import type { LicenseNames } from '../licensing/catalog.js';
import { describeAction, formatLicenses } from '../licensing/planner.js';
import { OUTCOME_KINDS, type OutcomeKind, type PlanAction } from '../licensing/types.js';
import { RULE_WARNING_CODES, type RuleWarning } from './rule-warnings.js';
import { predictLicenses } from './predict-licenses.js';

export const PLAN_FORMAT = 'ems-licensing/plan';

const assignedSchema = z.object({ skuId: z.string(), disabledPlans: z.array(z.string()) });
const actionSchema: z.ZodType<PlanAction> = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('setUsageLocation'),
    from: z.string().nullable(),
    to: z.string().regex(/^[A-Z]{2}$/),
  }),
  z.object({
    kind: z.literal('addLicense'),
    skuId: z.string(),
    skuPartNumber: z.string(),
    disabledPlans: z.array(z.string()),
  }),
  z.object({
    kind: z.literal('updateDisabledPlans'),
    skuId: z.string(),
    skuPartNumber: z.string(),
    before: z.array(z.string()),
    after: z.array(z.string()),
  }),
  z.object({ kind: z.literal('removeLicense'), skuId: z.string(), skuPartNumber: z.string() }),
]);

const entrySchema = z.object({
  id: z.string().min(1),
  userPrincipalName: z.string().nullable(),
  rule: z.string().nullable(),
  outcome: z.enum(OUTCOME_KINDS),
  before: z.array(assignedSchema),
  actions: z.array(actionSchema).min(1),
  after: z.array(assignedSchema),
  beforeText: z.array(z.string()),
  actionsText: z.array(z.string()),
  afterText: z.array(z.string()),
});
export type PlanEntry = z.infer<typeof entrySchema>;

const countSchema = z.object({ sku: z.string(), action: z.string(), users: z.number().int() });

export const planArtifactSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  version: z.literal(1),
  /** A digest of what the plan does (tenant, rules, users and actions): quote it when approving. */
  id: z.string(),
  kind: z.enum(['rules', 'revert']),
  createdAt: z.string(),
  tenantId: z.string().nullable(),
  graphBaseUrl: z.string(),
  /** The rules file the plan was made from (`kind: rules`); `apply --plan` refuses another. */
  rules: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).nullable(),
  /** The run a revert plan undoes. */
  revertOf: z.string().nullable(),
  /** SKUs whose licenses must be as the plan saw them (lower-case GUIDs) before it is carried out. */
  skus: z.array(z.object({ skuId: z.string(), skuPartNumber: z.string() })),
  summary: z.object({
    users: z.number().int(),
    changes: z.number().int(),
    byOutcome: z.record(z.string(), z.number().int()),
    bySkuAndAction: z.array(countSchema),
    /** Users the plan does not change that need attention: FAILED, CONFLICT, DEFERRED, SKIPPED. */
    notChanged: z.record(z.string(), z.number().int()),
  }),
  warnings: z.array(
    z.object({
      code: z.enum(RULE_WARNING_CODES),
      rule: z.string().nullable(),
      message: z.string(),
      fix: z.string(),
    }),
  ),
  users: z.array(entrySchema),
});
export type PlanArtifact = z.infer<typeof planArtifactSchema>;

/** One user's planned change, with the texts a person reads. */
export function planEntry(
  user: { id: string; userPrincipalName: string | null; assignedLicenses: readonly AssignedLicense[] },
  change: { rule: string | null; outcome: OutcomeKind; actions: PlanAction[] },
  names: LicenseNames,
): PlanEntry {
  const before = user.assignedLicenses.map((l) => ({ skuId: l.skuId, disabledPlans: [...l.disabledPlans] }));
  const after = predictLicenses(before, change.actions);
  return {
    id: user.id,
    userPrincipalName: user.userPrincipalName,
    rule: change.rule,
    outcome: change.outcome,
    before,
    actions: change.actions,
    after,
    beforeText: formatLicenses(before, names),
    actionsText: change.actions.map((a) => describeAction(a, names)),
    afterText: formatLicenses(after, names),
  };
}

/** Users per SKU and action (`EMS add 12`), SKUs then actions in a fixed order. */
export function countsBySkuAndAction(entries: readonly PlanEntry[]): z.infer<typeof countSchema>[] {
  const order = ['add', 'update', 'remove', 'set usageLocation'];
  const counts = new Map<string, { sku: string; action: string; users: number }>();
  for (const e of entries) {
    for (const a of e.actions) {
      const sku = a.kind === 'setUsageLocation' ? '(usage location)' : a.skuPartNumber;
      const action =
        a.kind === 'addLicense'
          ? 'add'
          : a.kind === 'updateDisabledPlans'
            ? 'update'
            : a.kind === 'removeLicense'
              ? 'remove'
              : 'set usageLocation';
      const key = `${sku}\n${action}`;
      const c = counts.get(key) ?? { sku, action, users: 0 };
      c.users++;
      counts.set(key, c);
    }
  }
  return [...counts.values()].sort(
    (a, b) => a.sku.localeCompare(b.sku) || order.indexOf(a.action) - order.indexOf(b.action),
  );
}

export interface PlanArtifactInput {
  kind: PlanArtifact['kind'];
  createdAt: Date;
  tenantId: string | null;
  graphBaseUrl: string;
  rules: PlanArtifact['rules'];
  revertOf: string | null;
  skus: PlanArtifact['skus'];
  users: number;
  byOutcome: Record<string, number>;
  warnings: readonly RuleWarning[];
  entries: readonly PlanEntry[];
}

const NOT_CHANGED: readonly OutcomeKind[] = ['FAILED', 'CONFLICT', 'DEFERRED', 'SKIPPED', 'HELD'];

/** The artifact, its id a digest of what it would do (the same plan always gets the same id). */
export function buildPlanArtifact(input: PlanArtifactInput): PlanArtifact {
  const users = [...input.entries].sort((a, b) =>
    (a.userPrincipalName ?? a.id).localeCompare(b.userPrincipalName ?? b.id),
  );
  const body = {
    kind: input.kind,
    tenantId: input.tenantId,
    rules: input.rules,
    revertOf: input.revertOf,
    users: users.map((u) => ({ id: u.id, before: u.before, actions: u.actions })),
  };
  const id = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return {
    format: PLAN_FORMAT,
    version: 1,
    id,
    kind: input.kind,
    createdAt: input.createdAt.toISOString(),
    tenantId: input.tenantId,
    graphBaseUrl: input.graphBaseUrl,
    rules: input.rules,
    revertOf: input.revertOf,
    skus: input.skus,
    summary: {
      users: input.users,
      changes: users.length,
      byOutcome: Object.fromEntries(Object.entries(input.byOutcome).filter(([, n]) => n > 0)),
      bySkuAndAction: countsBySkuAndAction(users),
      notChanged: Object.fromEntries(
        NOT_CHANGED.map((k): [string, number] => [k, input.byOutcome[k] ?? 0]).filter(([, n]) => n !== 0),
      ),
    },
    warnings: [...input.warnings],
    users,
  };
}

/** Parses a plan file's text; throws an Error naming what is wrong (not JSON, not a plan, edited). */
export function parsePlanArtifact(text: string, fileName: string): PlanArtifact {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(
      `${fileName} is not JSON: \`apply --plan\` takes the file \`plan --out\` wrote (not its Markdown or CSV rendering).`,
    );
  }
  const parsed = planArtifactSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new Error(
      `${fileName} is not a plan written by \`ems-licensing plan --out\`: ${first.join('; ')}.`,
    );
  }
  const again = buildPlanArtifact({
    kind: parsed.data.kind,
    createdAt: new Date(parsed.data.createdAt),
    tenantId: parsed.data.tenantId,
    graphBaseUrl: parsed.data.graphBaseUrl,
    rules: parsed.data.rules,
    revertOf: parsed.data.revertOf,
    skus: parsed.data.skus,
    users: parsed.data.summary.users,
    byOutcome: parsed.data.summary.byOutcome,
    warnings: parsed.data.warnings,
    entries: parsed.data.users,
  });
  // The id is a digest of the users and actions: a hand edit shows as a different one.
  if (again.id !== parsed.data.id) {
    throw new Error(
      `${fileName} was changed after it was written (its content no longer matches plan ${parsed.data.id}): make a new plan with \`ems-licensing plan --out\` and review that.`,
    );
  }
  return parsed.data;
}

/**
 * The tenant a catalog was read from: each subscribedSku's id is `{tenantId}_{skuId}`
 * (learn.microsoft.com/graph/api/resources/subscribedsku), so the SKU list names its tenant.
 */
export function tenantIdOf(skus: readonly { id?: string | null | undefined }[]): string | null {
  for (const s of skus) {
    const id = s.id ?? '';
    const cut = id.indexOf('_');
    if (cut > 0) return id.slice(0, cut).toLowerCase();
  }
  return null;
}
