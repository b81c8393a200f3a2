/**
 * The simulated directory: users, groups, SKUs and license paths, plus the change sequence that
 * delta queries and change notifications read. Pure in-memory state; HTTP lives in the handlers.
 */
import { randomUUID } from 'node:crypto';
import type { GraphUser, LicenseAssignmentState, SubscribedSku } from './graph-resources.js';
import { DYNAMIC_MEMBERSHIP, type PlanConstraints, type TenantFile, type TenantSku } from './tenant-file.js';

export interface LicensePath {
  skuId: string;
  disabledPlans: string[];
  /** null for a direct assignment. */
  assignedByGroup: string | null;
  state: 'Active' | 'Error';
  error: 'None' | 'CountViolation';
  lastUpdatedDateTime: string;
}

export interface UserRecord {
  /** Every stored user property except the license state (which is derived from `paths`). */
  props: Record<string, unknown> & { id: string; userPrincipalName: string };
  /** Direct paths keyed by skuId, group paths keyed by `${groupId}|${skuId}`. */
  direct: Map<string, LicensePath>;
  inherited: Map<string, LicensePath>;
  deleted: { permanent: boolean } | null;
  /** Directory change sequence of the last change (delta reads it). */
  changedSeq: number;
}

export interface GroupRecord {
  id: string;
  displayName: string;
  description: string | null;
  members: Set<string>;
  licenses: Map<string, string[]>;
  groupTypes: string[];
  membershipRule: string | null;
  membershipRuleProcessingState: 'On' | 'Paused' | null;
  securityEnabled: boolean;
  mailEnabled: boolean;
  licenseProcessingState: 'QueuedForProcessing' | 'ProcessingInProgress' | 'ProcessingComplete';
  createdDateTime: string;
}

/** A static security group as `addToGroup` / `addGroupLicense` create one. */
export function staticGroup(id: string, displayName: string, createdDateTime: string): GroupRecord {
  return {
    id,
    displayName,
    description: null,
    members: new Set(),
    licenses: new Map(),
    groupTypes: [],
    membershipRule: null,
    membershipRuleProcessingState: null,
    securityEnabled: true,
    mailEnabled: false,
    licenseProcessingState: 'ProcessingComplete',
    createdDateTime,
  };
}

export interface SkuRecord {
  sku: TenantSku;
  prepaidEnabled: number;
}

export type ChangeType = 'updated' | 'deleted';
export type ChangeListener = (user: UserRecord, changeType: ChangeType) => void;

const LICENSE_PROPS = new Set(['assignedLicenses', 'licenseAssignmentStates', 'directLicenses']);

export class Directory {
  readonly tenantId: string;
  readonly defaultDomain: string;
  readonly countryLetterCode: string;
  readonly constraints: PlanConstraints;
  readonly users = new Map<string, UserRecord>();
  readonly groups = new Map<string, GroupRecord>();
  readonly skusById = new Map<string, SkuRecord>();
  #seq = 0;
  #listeners: ChangeListener[] = [];
  readonly #now: () => Date;

  constructor(tenant: TenantFile, now: () => Date) {
    this.#now = now;
    this.tenantId = tenant.tenantId;
    this.defaultDomain = tenant.defaultDomain;
    this.countryLetterCode = tenant.countryLetterCode;
    this.constraints = structuredClone(tenant.planConstraints);
    for (const sku of tenant.skus) {
      this.skusById.set(sku.skuId.toLowerCase(), {
        sku: structuredClone(sku),
        prepaidEnabled: sku.prepaidUnits.enabled,
      });
    }
    const stamp = this.nowIso();
    for (const g of tenant.groups) {
      const dynamic = g.groupTypes.includes(DYNAMIC_MEMBERSHIP);
      this.groups.set(g.id.toLowerCase(), {
        ...staticGroup(g.id, g.displayName, stamp),
        description: g.description ?? null,
        members: new Set(g.members.map((m) => m.toLowerCase())),
        licenses: new Map(g.licenses.map((l) => [l.skuId.toLowerCase(), [...l.disabledPlans]])),
        groupTypes: [...g.groupTypes],
        membershipRule: g.membershipRule ?? null,
        membershipRuleProcessingState: dynamic ? (g.membershipRuleProcessingState ?? 'On') : null,
        securityEnabled: g.securityEnabled,
        mailEnabled: g.mailEnabled,
        licenseProcessingState: g.licenseProcessingState,
      });
    }
    for (const u of tenant.users) {
      const props: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(u)) if (!LICENSE_PROPS.has(k)) props[k] = structuredClone(v);
      const rec: UserRecord = {
        props: props as UserRecord['props'],
        direct: new Map(),
        inherited: new Map(),
        deleted: null,
        changedSeq: 0,
      };
      for (const l of u.directLicenses) {
        rec.direct.set(l.skuId.toLowerCase(), directPath(l.skuId, l.disabledPlans, stamp));
      }
      if (this.users.has(u.id.toLowerCase())) throw new Error(`Tenant file: duplicate user id ${u.id}`);
      this.users.set(u.id.toLowerCase(), rec);
    }
    // The file describes the tenant as it is: inherited licenses start Active whatever the seat count.
    for (const rec of this.users.values()) this.reconcileGroupLicenses(rec, { initial: true });
  }

  now(): Date {
    return this.#now();
  }

  nowIso(): string {
    return this.#now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }

  get seq(): number {
    return this.#seq;
  }

  onChange(listener: ChangeListener): void {
    this.#listeners.push(listener);
  }

  /** Records a change to the user: bumps the delta sequence and tells the listeners (notifications). */
  touch(rec: UserRecord, changeType: ChangeType = 'updated'): void {
    this.#seq += 1;
    rec.changedSeq = this.#seq;
    for (const l of this.#listeners) l(rec, changeType);
  }

  // ---- lookups ----

  /** By object id or UPN, case-insensitive; deleted users are not found. */
  findUser(idOrUpn: string): UserRecord | undefined {
    const key = idOrUpn.toLowerCase();
    const byId = this.users.get(key);
    if (byId !== undefined) return byId.deleted === null ? byId : undefined;
    for (const rec of this.users.values()) {
      if (rec.deleted === null && rec.props.userPrincipalName.toLowerCase() === key) return rec;
    }
    return undefined;
  }

  liveUsers(): UserRecord[] {
    return [...this.users.values()].filter((u) => u.deleted === null);
  }

  findSku(partNumberOrId: string): SkuRecord | undefined {
    const key = partNumberOrId.toLowerCase();
    const byId = this.skusById.get(key);
    if (byId !== undefined) return byId;
    for (const s of this.skusById.values()) if (s.sku.skuPartNumber.toLowerCase() === key) return s;
    return undefined;
  }

  // ---- licenses ----

  /** Active license paths of a user (direct first). */
  activePaths(rec: UserRecord): LicensePath[] {
    return [...rec.direct.values(), ...rec.inherited.values()].filter((p) => p.state === 'Active');
  }

  holdsActive(rec: UserRecord, skuId: string): boolean {
    const key = skuId.toLowerCase();
    return this.activePaths(rec).some((p) => p.skuId.toLowerCase() === key);
  }

  /** Users (not deleted) holding the SKU by at least one active path: one seat each. */
  consumedUnits(skuId: string): number {
    let n = 0;
    for (const rec of this.users.values()) if (rec.deleted === null && this.holdsActive(rec, skuId)) n++;
    return n;
  }

  /** `prepaidUnits.enabled - consumedUnits` (learn.microsoft.com/graph/api/resources/subscribedsku). */
  freeSeats(skuId: string): number {
    const sku = this.skusById.get(skuId.toLowerCase());
    return sku === undefined ? 0 : sku.prepaidEnabled - this.consumedUnits(skuId);
  }

  /**
   * The effective license per SKU: a plan is off only if every active path disables it (the
   * effective plans are the union of what each path enables; entra-docs licensing-group-advanced.md).
   */
  effectiveLicenses(rec: UserRecord): Map<string, string[]> {
    const result = new Map<string, string[]>();
    for (const p of this.activePaths(rec)) {
      const key = p.skuId.toLowerCase();
      const current = result.get(key);
      result.set(
        key,
        current === undefined ? [...p.disabledPlans] : current.filter((id) => p.disabledPlans.includes(id)),
      );
    }
    return result;
  }

  /** Ids of the user-assignable plans the user has enabled, given effective licenses. */
  enabledPlans(effective: Map<string, string[]>): Set<string> {
    const enabled = new Set<string>();
    for (const [skuId, disabled] of effective) {
      const sku = this.skusById.get(skuId);
      if (sku === undefined) continue;
      const off = new Set(disabled.map((d) => d.toLowerCase()));
      for (const plan of sku.sku.servicePlans) {
        if (plan.appliesTo === 'User' && !off.has(plan.servicePlanId.toLowerCase()))
          enabled.add(plan.servicePlanId.toLowerCase());
      }
    }
    return enabled;
  }

  /** Groups a user or group is a direct member of. */
  directGroupsOf(memberId: string): GroupRecord[] {
    const key = memberId.toLowerCase();
    return [...this.groups.values()].filter((g) => g.members.has(key));
  }

  /**
   * Members of a group: direct ones, or (`transitive`) everyone reached through nested groups,
   * groups included, each once (learn.microsoft.com/graph/api/group-list-transitivemembers).
   * Deleted users are not members.
   */
  membersOf(
    group: GroupRecord,
    transitive: boolean,
  ): ({ kind: 'user'; user: UserRecord } | { kind: 'group'; group: GroupRecord })[] {
    const out: ({ kind: 'user'; user: UserRecord } | { kind: 'group'; group: GroupRecord })[] = [];
    const seen = new Set<string>([group.id.toLowerCase()]);
    const queue = [group];
    while (queue.length > 0) {
      const current = queue.shift();
      if (current === undefined) break;
      for (const id of current.members) {
        if (seen.has(id)) continue;
        seen.add(id);
        const user = this.users.get(id);
        if (user !== undefined) {
          if (user.deleted === null) out.push({ kind: 'user', user });
          continue;
        }
        const nested = this.groups.get(id);
        if (nested === undefined) continue;
        out.push({ kind: 'group', group: nested });
        if (transitive) queue.push(nested);
      }
    }
    return out;
  }

  /** True when some direct user member holds a license path of this group in error (group-based licensing). */
  hasMembersWithLicenseErrors(group: GroupRecord): boolean {
    const key = group.id.toLowerCase();
    return this.membersOf(group, false).some(
      (m) =>
        m.kind === 'user' &&
        [...m.user.inherited.values()].some(
          (p) => p.assignedByGroup?.toLowerCase() === key && p.state === 'Error',
        ),
    );
  }

  /** Every group the member belongs to, directly or through nested groups. */
  transitiveGroupsOf(memberId: string): Set<string> {
    const seen = new Set<string>();
    const queue = [memberId.toLowerCase()];
    while (queue.length > 0) {
      const next = queue.shift();
      if (next === undefined) break;
      for (const g of this.directGroupsOf(next)) {
        const id = g.id.toLowerCase();
        if (!seen.has(id)) {
          seen.add(id);
          queue.push(id);
        }
      }
    }
    return seen;
  }

  /**
   * Brings a user's inherited license paths in line with group licenses. Group-based licensing
   * applies to direct user members only, nested groups are not expanded
   * (entra-docs licensing-group-advanced.md, "Limitations and known issues"). A new path needs a
   * seat unless the user already holds the SKU; without one it is `Error` / `CountViolation`
   * (learn.microsoft.com/graph/api/resources/licenseassignmentstate). Returns true when anything changed.
   */
  reconcileGroupLicenses(rec: UserRecord, options: { initial?: boolean } = {}): boolean {
    if (rec.deleted !== null) return false;
    const stamp = this.nowIso();
    const wanted = new Map<string, { groupId: string; skuId: string; disabledPlans: string[] }>();
    for (const g of this.directGroupsOf(rec.props.id)) {
      for (const [skuKey, disabledPlans] of g.licenses) {
        const sku = this.skusById.get(skuKey);
        wanted.set(`${g.id.toLowerCase()}|${skuKey}`, {
          groupId: g.id,
          skuId: sku?.sku.skuId ?? skuKey,
          disabledPlans,
        });
      }
    }
    let changed = false;
    for (const key of [...rec.inherited.keys()]) {
      if (!wanted.has(key)) {
        rec.inherited.delete(key);
        changed = true;
      }
    }
    for (const [key, w] of wanted) {
      const existing = rec.inherited.get(key);
      const sameSku = existing !== undefined && sameSet(existing.disabledPlans, w.disabledPlans);
      if (existing !== undefined && existing.state === 'Active' && sameSku) continue;
      const seatOk =
        options.initial === true ||
        existing?.state === 'Active' ||
        this.holdsActive(rec, w.skuId) ||
        this.freeSeats(w.skuId) > 0;
      rec.inherited.set(key, {
        skuId: w.skuId,
        disabledPlans: [...w.disabledPlans],
        assignedByGroup: w.groupId,
        state: seatOk ? 'Active' : 'Error',
        error: seatOk ? 'None' : 'CountViolation',
        lastUpdatedDateTime: stamp,
      });
      if (existing === undefined || existing.state !== (seatOk ? 'Active' : 'Error') || !sameSku)
        changed = true;
    }
    return changed;
  }

  // ---- rendering ----

  /** The user with every stored property plus derived `assignedLicenses` and `licenseAssignmentStates`. */
  renderUser(rec: UserRecord): GraphUser & Record<string, unknown> {
    const effective = this.effectiveLicenses(rec);
    const assignedLicenses = [...effective].map(([skuKey, disabledPlans]) => ({
      skuId: this.skusById.get(skuKey)?.sku.skuId ?? skuKey,
      disabledPlans,
    }));
    const licenseAssignmentStates: LicenseAssignmentState[] = [
      ...rec.direct.values(),
      ...rec.inherited.values(),
    ].map((p) => ({
      assignedByGroup: p.assignedByGroup,
      disabledPlans: [...p.disabledPlans],
      error: p.error,
      lastUpdatedDateTime: p.lastUpdatedDateTime,
      skuId: p.skuId,
      state: p.state,
    }));
    return {
      ...(structuredClone(rec.props) as GraphUser & Record<string, unknown>),
      assignedLicenses,
      licenseAssignmentStates,
    };
  }

  renderSku(rec: SkuRecord): SubscribedSku & Record<string, unknown> {
    const s = rec.sku;
    // learn.microsoft.com/graph/api/resources/subscribedsku: id is "{tenantId}_{skuId}".
    return {
      accountId: this.tenantId,
      accountName: this.defaultDomain.split('.')[0] ?? this.defaultDomain,
      appliesTo: s.appliesTo,
      capabilityStatus: s.capabilityStatus,
      consumedUnits: this.consumedUnits(s.skuId),
      id: `${this.tenantId}_${s.skuId}`,
      prepaidUnits: { ...s.prepaidUnits, enabled: rec.prepaidEnabled },
      servicePlans: s.servicePlans.map((p) => ({ ...p })),
      skuId: s.skuId,
      skuPartNumber: s.skuPartNumber,
      subscriptionIds: [],
    };
  }

  // ---- mutations used by TenantState ----

  newId(): string {
    return randomUUID();
  }
}

export function directPath(skuId: string, disabledPlans: string[], stamp: string): LicensePath {
  // learn.microsoft.com/graph/api/resources/licenseassignmentstate: direct paths have assignedByGroup null.
  return {
    skuId,
    disabledPlans: [...disabledPlans],
    assignedByGroup: null,
    state: 'Active',
    error: 'None',
    lastUpdatedDateTime: stamp,
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a.map((x) => x.toLowerCase()));
  return b.every((x) => s.has(x.toLowerCase()));
}
