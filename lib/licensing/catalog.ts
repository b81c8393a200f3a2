/**
 * The tenant's SKUs and service plans (from GET /subscribedSkus): names to GUIDs and back,
 * whether a SKU can be assigned, and free seats (as listed; see SeatLedger for seats handed out since).
 *
 * GUIDs are compared lower-case; part numbers and plan names case-insensitively.
 * Beware the name clash: `INTUNE_A` is the part number of the standalone Intune SKU
 * (061f9ace-7d42-4136-88ac-31dc755f143f) and the name of the Intune plan inside EMS and others
 * (c1ec4a95-1f05-45b3-a911-aa3fa01094f5). SKU lookups only ever look at SKUs, plan lookups only
 * at the plans of one SKU, so the two never mix.
 */
import type { ServicePlanInfo, SubscribedSku } from '../graph/types.js';
import { isGuid } from '../shared/guid.js';

/** What describing licenses needs: names from GUIDs. Catalog implements it; tests may fake it. */
export interface LicenseNames {
  /** The part number of a SKU, or the GUID itself when the tenant does not have it. */
  skuPartNumber(skuId: string): string;
  /** The name of a service plan, or the GUID itself when unknown. */
  planName(planId: string, skuId?: string): string;
}

/**
 * capabilityStatus values under which a SKU can be assigned. `Warning` is the grace period after a
 * subscription expires: its users keep service, so assignments still work and keeping a user's
 * plans right matters; new seats come only from `prepaidUnits.enabled`, so an add on a SKU
 * entirely in Warning has no free seat and is deferred rather than failing.
 */
const ASSIGNABLE_STATUSES = new Set(['enabled', 'warning']);

const STATUS_EXPLANATIONS: Record<string, string> = {
  suspended:
    'the subscription is suspended (cancelled or unpaid); renew or reactivate it in the Microsoft 365 admin center',
  deleted: 'the subscription has been deleted; buy the product again or use another SKU',
  lockedout: 'the subscription is locked out; contact Microsoft support or your reseller',
};

/** The tenant's license catalog. Build one per GET /subscribedSkus; it is cheap. */
export class Catalog implements LicenseNames {
  readonly #skus: readonly SubscribedSku[];
  readonly #byId = new Map<string, SubscribedSku>();
  readonly #byPartNumber = new Map<string, SubscribedSku>();
  readonly #planNames = new Map<string, string>();

  constructor(skus: readonly SubscribedSku[]) {
    this.#skus = skus;
    for (const sku of skus) {
      this.#byId.set(sku.skuId.toLowerCase(), sku);
      // Part numbers are unique per tenant; should one ever repeat, the first wins.
      if (!this.#byPartNumber.has(sku.skuPartNumber.toLowerCase()))
        this.#byPartNumber.set(sku.skuPartNumber.toLowerCase(), sku);
      for (const plan of sku.servicePlans)
        this.#planNames.set(plan.servicePlanId.toLowerCase(), plan.servicePlanName);
    }
  }

  /** Every SKU of the tenant, as Graph listed them. */
  skus(): readonly SubscribedSku[] {
    return this.#skus;
  }

  /** The SKU with this skuId (any case), or null. */
  sku(skuId: string): SubscribedSku | null {
    return this.#byId.get(skuId.toLowerCase()) ?? null;
  }

  /** A SKU by part number (case-insensitive) or skuId GUID, as written in a rules file; null if unknown. */
  resolveSku(ref: string): SubscribedSku | null {
    const key = ref.trim().toLowerCase();
    return (isGuid(key) ? this.#byId.get(key) : this.#byPartNumber.get(key)) ?? null;
  }

  /** The service plans of a SKU (empty when unknown). */
  plansOf(skuId: string): readonly ServicePlanInfo[] {
    return this.sku(skuId)?.servicePlans ?? [];
  }

  /** A plan of one SKU by name (case-insensitive) or GUID; null when that SKU has no such plan. */
  resolvePlan(skuId: string, ref: string): ServicePlanInfo | null {
    const key = ref.trim().toLowerCase();
    const guid = isGuid(key);
    return (
      this.plansOf(skuId).find((p) =>
        guid ? p.servicePlanId.toLowerCase() === key : p.servicePlanName.toLowerCase() === key,
      ) ?? null
    );
  }

  /** Arrow property so it can be passed as a function (planner input) without binding. */
  readonly skuPartNumber = (skuId: string): string => this.sku(skuId)?.skuPartNumber ?? skuId;

  /** The plan's name, looked up in `skuId` first, then in any SKU; the GUID when unknown. */
  readonly planName = (planId: string, skuId?: string): string => {
    const key = planId.toLowerCase();
    const inSku =
      skuId === undefined
        ? undefined
        : this.plansOf(skuId).find((p) => p.servicePlanId.toLowerCase() === key)?.servicePlanName;
    return inSku ?? this.#planNames.get(key) ?? planId;
  };

  /** Why a SKU cannot be assigned to users, or null when it can. */
  whyNotAssignable(skuId: string): string | null {
    const sku = this.sku(skuId);
    if (sku === null) return `the tenant has no SKU ${skuId}`;
    if (sku.appliesTo != null && sku.appliesTo.toLowerCase() !== 'user')
      return `${sku.skuPartNumber} applies to "${sku.appliesTo}", not to users`;
    const status = sku.capabilityStatus.toLowerCase();
    if (!ASSIGNABLE_STATUSES.has(status))
      return `${sku.skuPartNumber} has capabilityStatus ${sku.capabilityStatus}: ${
        STATUS_EXPLANATIONS[status] ?? 'it cannot be assigned in this state'
      }`;
    return null;
  }

  /** appliesTo User and capabilityStatus Enabled or Warning (grace period; see ASSIGNABLE_STATUSES). */
  isAssignable(skuId: string): boolean {
    return this.whyNotAssignable(skuId) === null;
  }

  /** Part numbers of every assignable SKU, sorted: what an error message offers instead. */
  assignableSkuPartNumbers(): string[] {
    return this.#skus
      .filter((s) => this.isAssignable(s.skuId))
      .map((s) => s.skuPartNumber)
      .sort();
  }

  /**
   * Seats free as listed: prepaidUnits.enabled - consumedUnits, never below 0 (tenants can show
   * consumed above prepaid). 0 for an unknown SKU. What this process has handed out since the
   * list was read is the seat ledger's (lib/engine/seat-ledger.ts): the catalog is the tenant's
   * data as Graph gave it, never changed.
   */
  readonly freeSeats = (skuId: string): number => {
    const sku = this.sku(skuId);
    if (sku === null) return 0;
    return Math.max(0, sku.prepaidUnits.enabled - sku.consumedUnits);
  };
}
