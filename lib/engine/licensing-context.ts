/**
 * The rules compiled against the tenant's catalog, plus what the engine derives from them once:
 * the `$select` list and the group ids to check. Built at start-up (a bad rules file stops it) and
 * refreshed on a schedule so seat counts and newly added service plans are picked up.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { Catalog } from '../licensing/catalog.js';
import { compileRules, type CompiledRules } from '../licensing/compile.js';
import type { RulesFile } from '../rules/schema.js';
import { groupIdsUsed, userSelectFor } from '../rules/select.js';
import { SeatLedger } from './seat-ledger.js';

export interface LicensingContext {
  rulesFile: RulesFile;
  rules: CompiledRules;
  catalog: Catalog;
  /** `$select` for every user read: base attributes plus those the rules test. */
  select: string[];
  /** Groups the rules test membership of (checked with one checkMemberGroups call per user). */
  groupIds: string[];
  /** When the catalog was read from Graph. */
  loadedAt: Date;
  /** Seats handed out since the catalog was read (by this process, or this run). */
  seats: SeatLedger;
}

/**
 * Reads `GET /subscribedSkus` and compiles the rules against it. Throws `RulesValidationError`
 * (unknown SKU or plan, naming the rule) when the rules do not fit the tenant.
 */
export async function loadLicensingContext(
  gateway: GraphGateway,
  rulesFile: RulesFile,
  options: { correlationId?: string; now?: () => Date } = {},
): Promise<LicensingContext> {
  const skus = await gateway.listSubscribedSkus(
    options.correlationId ? { correlationId: options.correlationId } : {},
  );
  const catalog = new Catalog(skus);
  const rules = compileRules(rulesFile, catalog);
  return {
    rulesFile,
    rules,
    catalog,
    select: userSelectFor(rulesFile),
    groupIds: groupIdsUsed(rulesFile),
    loadedAt: (options.now ?? (() => new Date()))(),
    seats: new SeatLedger(catalog.freeSeats),
  };
}

/**
 * Keeps one context and reloads it when older than `maxAgeMs` (the worker handles many jobs per
 * instance; subscribedSkus costs 3 resource units, so it is not read per job). Concurrent callers
 * share one reload.
 */
export class LicensingContextCache {
  #current: LicensingContext | null = null;
  #stale = false;
  #loading: Promise<LicensingContext> | null = null;
  readonly #load: () => Promise<LicensingContext>;
  readonly #maxAgeMs: number;
  readonly #now: () => Date;

  readonly #onReloadError: (e: unknown) => void;

  constructor(
    load: () => Promise<LicensingContext>,
    options: { maxAgeMs?: number; now?: () => Date; onReloadError?: (e: unknown) => void } = {},
  ) {
    this.#onReloadError = options.onReloadError ?? (() => undefined);
    this.#load = load;
    this.#maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * The current context, reloaded when stale. A failed reload (Graph briefly unavailable, a SKU
   * suspended since) keeps serving the last good context rather than stopping all licensing; it
   * throws only when there has never been one.
   */
  async get(): Promise<LicensingContext> {
    const cur = this.#current;
    if (cur && !this.#stale && this.#now().getTime() - cur.loadedAt.getTime() < this.#maxAgeMs) return cur;
    this.#loading ??= this.#load()
      .then((ctx) => {
        this.#current = ctx;
        this.#stale = false;
        return ctx;
      })
      .finally(() => {
        this.#loading = null;
      });
    try {
      return await this.#loading;
    } catch (e) {
      if (cur) {
        this.#onReloadError(e);
        return cur;
      }
      throw e;
    }
  }

  /** Forces the next `get` to reload (e.g. after Graph said the seats ran out). */
  invalidate(): void {
    this.#stale = true;
  }
}
