/** The test-facing `TenantState`: reads and "AD sync" style mutations on the simulated directory. */
import type { GraphSubscription, GraphUser, SubscribedSku } from './graph-resources.js';
import type { DeltaHandlers } from './delta.js';
import { staticGroup, type Directory, type GroupRecord, type UserRecord } from './directory.js';
import type { Subscriptions } from './subscriptions.js';
import type { TenantFile } from './tenant-file.js';
import type { NotificationDelivery, TenantState, UpsertUserInput } from './types.js';

const DERIVED = new Set(['assignedLicenses', 'licenseAssignmentStates', 'directLicenses']);

export class LiveTenant implements TenantState {
  readonly #dir: Directory;
  readonly #subs: Subscriptions;
  readonly #delta: DeltaHandlers;

  constructor(dir: Directory, subs: Subscriptions, delta: DeltaHandlers) {
    this.#dir = dir;
    this.#subs = subs;
    this.#delta = delta;
  }

  get tenantId(): string {
    return this.#dir.tenantId;
  }

  users(): GraphUser[] {
    return this.#dir.liveUsers().map((u) => this.#dir.renderUser(u));
  }

  user(idOrUpn: string): GraphUser | undefined {
    const rec = this.#dir.findUser(idOrUpn);
    return rec === undefined ? undefined : this.#dir.renderUser(rec);
  }

  sku(partNumberOrId: string): SubscribedSku | undefined {
    const rec = this.#dir.findSku(partNumberOrId);
    return rec === undefined ? undefined : this.#dir.renderSku(rec);
  }

  skus(): SubscribedSku[] {
    return [...this.#dir.skusById.values()].map((s) => this.#dir.renderSku(s));
  }

  upsertUser(input: UpsertUserInput): GraphUser {
    const dir = this.#dir;
    let rec: UserRecord | undefined =
      input.id === undefined ? dir.findUser(input.userPrincipalName) : dir.users.get(input.id.toLowerCase());
    const sameUpn = dir.findUser(input.userPrincipalName);
    if (sameUpn !== undefined && sameUpn !== rec) {
      throw new Error(
        `upsertUser: userPrincipalName ${input.userPrincipalName} already belongs to user ${sameUpn.props.id}`,
      );
    }
    if (rec === undefined) {
      const id = input.id ?? dir.newId();
      rec = {
        props: {
          id,
          userPrincipalName: input.userPrincipalName,
          accountEnabled: true,
          userType: 'Member',
          createdDateTime: dir.nowIso(),
        },
        direct: new Map(),
        inherited: new Map(),
        deleted: null,
        changedSeq: 0,
      };
      dir.users.set(id.toLowerCase(), rec);
    }
    // Restoring a soft-deleted user brings it back with its licenses (entra-docs users-restore.md).
    if (rec.deleted !== null) {
      if (rec.deleted.permanent) throw new Error(`upsertUser: user ${rec.props.id} was permanently deleted`);
      rec.deleted = null;
      delete rec.props['deletedDateTime'];
    }
    for (const [k, v] of Object.entries(input)) {
      if (v === undefined || DERIVED.has(k) || k === 'id') continue;
      rec.props[k] = structuredClone(v);
    }
    dir.reconcileGroupLicenses(rec);
    dir.touch(rec, 'updated');
    return dir.renderUser(rec);
  }

  deleteUser(id: string, options: { permanent?: boolean } = {}): void {
    const rec = this.#dir.users.get(id.toLowerCase());
    if (rec === undefined) throw new Error(`deleteUser: no user ${id}`);
    const permanent = options.permanent === true;
    if (rec.deleted !== null && (rec.deleted.permanent || !permanent)) return;
    rec.deleted = { permanent };
    rec.props['deletedDateTime'] = this.#dir.nowIso();
    // A soft delete arrives as changeType `updated` (the user moves to deleted items); only a
    // permanent delete is `deleted` (learn.microsoft.com/graph/change-notifications-overview,
    // "Supported resources": users support updated and deleted).
    this.#dir.touch(rec, permanent ? 'deleted' : 'updated');
    // Seats held by the user are free again; inherited paths in error may now get one.
    this.#reconcileAll();
  }

  setPrepaidUnits(skuPartNumberOrId: string, enabled: number): void {
    const rec = this.#dir.findSku(skuPartNumberOrId);
    if (rec === undefined) throw new Error(`setPrepaidUnits: no SKU ${skuPartNumberOrId}`);
    if (!Number.isInteger(enabled) || enabled < 0)
      throw new Error(`setPrepaidUnits: ${enabled} is not a seat count`);
    rec.prepaidEnabled = enabled;
    this.#reconcileAll();
  }

  addGroupLicense(groupId: string, skuPartNumberOrId: string, disabledPlans: string[] = []): void {
    const sku = this.#dir.findSku(skuPartNumberOrId);
    if (sku === undefined) throw new Error(`addGroupLicense: no SKU ${skuPartNumberOrId}`);
    const group = this.#group(groupId);
    group.licenses.set(sku.sku.skuId.toLowerCase(), [...disabledPlans]);
    this.#reconcileMembers(group);
  }

  removeGroupLicense(groupId: string, skuPartNumberOrId: string): void {
    const sku = this.#dir.findSku(skuPartNumberOrId);
    const group = this.#dir.groups.get(groupId.toLowerCase());
    if (sku === undefined || group === undefined) {
      throw new Error(
        `removeGroupLicense: no ${sku === undefined ? `SKU ${skuPartNumberOrId}` : `group ${groupId}`}`,
      );
    }
    group.licenses.delete(sku.sku.skuId.toLowerCase());
    this.#reconcileMembers(group);
    // Seats the members held only through this group are free again.
    this.#reconcileAll();
  }

  addToGroup(memberId: string, groupId: string): void {
    const group = this.#group(groupId);
    group.members.add(memberId.toLowerCase());
    this.#reconcileMembers(group);
  }

  removeFromGroup(memberId: string, groupId: string): void {
    const group = this.#dir.groups.get(groupId.toLowerCase());
    if (group === undefined) return;
    group.members.delete(memberId.toLowerCase());
    const rec = this.#dir.users.get(memberId.toLowerCase());
    if (rec !== undefined && this.#dir.reconcileGroupLicenses(rec)) this.#dir.touch(rec);
    this.#reconcileAll();
  }

  flushNotifications(): Promise<NotificationDelivery[]> {
    return this.#subs.flush();
  }

  pendingNotifications(): number {
    return this.#subs.pending();
  }

  sendLifecycleEvent(
    subscriptionId: string,
    event: 'reauthorizationRequired',
  ): Promise<NotificationDelivery> {
    return this.#subs.lifecycle(subscriptionId, event);
  }

  loseSubscription(id: string): void {
    this.#subs.lose(id);
  }

  expireDeltaTokens(options: { gone?: boolean } = {}): void {
    this.#delta.expireAll(options.gone === true ? 'gone' : 'syncStateNotFound');
  }

  subscriptions(): GraphSubscription[] {
    return this.#subs.list();
  }

  exportTenant(): TenantFile {
    const dir = this.#dir;
    return {
      tenantId: dir.tenantId,
      defaultDomain: dir.defaultDomain,
      countryLetterCode: dir.countryLetterCode,
      skus: [...dir.skusById.values()].map((s) => ({
        ...structuredClone(s.sku),
        prepaidUnits: { ...s.sku.prepaidUnits, enabled: s.prepaidEnabled },
      })),
      planConstraints: structuredClone(dir.constraints),
      groups: [...dir.groups.values()].map((g) => ({
        id: g.id,
        displayName: g.displayName,
        description: g.description,
        groupTypes: [...g.groupTypes],
        membershipRule: g.membershipRule,
        membershipRuleProcessingState: g.membershipRuleProcessingState,
        securityEnabled: g.securityEnabled,
        mailEnabled: g.mailEnabled,
        licenseProcessingState: g.licenseProcessingState,
        members: [...g.members],
        licenses: [...g.licenses].map(([skuKey, disabledPlans]) => ({
          skuId: dir.skusById.get(skuKey)?.sku.skuId ?? skuKey,
          disabledPlans: [...disabledPlans],
        })),
      })),
      users: dir.liveUsers().map((u) => ({
        ...(structuredClone(u.props) as TenantFile['users'][number]),
        directLicenses: [...u.direct.values()].map((p) => ({
          skuId: p.skuId,
          disabledPlans: [...p.disabledPlans],
        })),
      })),
    };
  }

  #group(groupId: string): GroupRecord {
    const key = groupId.toLowerCase();
    let group = this.#dir.groups.get(key);
    if (group === undefined) {
      group = staticGroup(groupId, groupId, this.#dir.nowIso());
      this.#dir.groups.set(key, group);
    }
    return group;
  }

  #reconcileMembers(group: GroupRecord): void {
    for (const member of group.members) {
      const rec = this.#dir.users.get(member);
      if (rec !== undefined && this.#dir.reconcileGroupLicenses(rec)) this.#dir.touch(rec);
    }
  }

  /** Entra reprocesses group licenses when seats change; paths in CountViolation may become Active. */
  #reconcileAll(): void {
    for (const rec of this.#dir.liveUsers()) {
      if (this.#dir.reconcileGroupLicenses(rec)) this.#dir.touch(rec);
    }
  }
}
