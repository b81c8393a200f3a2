/**
 * Which Graph subscriptions this app owns: the `/users` subscriptions in its subscriptions table
 * (the subscription keeper writes one when it creates it, before Graph sends anything for it).
 * A notification or lifecycle event for any other subscription id is dropped, whatever its
 * clientState: only the app's own subscriptions make jobs or Graph calls.
 *
 * The table is read once and kept per process, so a batch costs no Table read per item. A list
 * older than {@link OWNED_SUBSCRIPTIONS_TTL_MS} is read again; an id the list does not hold (the
 * keeper has just created or recreated a subscription) reads it again at once, but never more
 * often than every {@link OWNED_SUBSCRIPTIONS_MIN_REFRESH_MS}, and concurrent requests share one
 * read. Only items whose clientState matched get this far, so an anonymous sender cannot make the
 * app read its table.
 */

/** What is read from the subscriptions table (a `SubscriptionRecord` has these). */
export interface OwnedSubscriptionRecord {
  id: string;
  resource: string;
}

/** How long a loaded list is trusted for the ids it holds. */
export const OWNED_SUBSCRIPTIONS_TTL_MS = 5 * 60_000;
/** The shortest time between two reads of the table. */
export const OWNED_SUBSCRIPTIONS_MIN_REFRESH_MS = 5_000;

export interface OwnedSubscriptionsOptions {
  /** Reads the subscriptions table. */
  list: () => Promise<readonly OwnedSubscriptionRecord[]>;
  now: () => Date;
  /** Told when a read failed and the last list it had was used instead. */
  onStaleList?: (error: unknown) => void;
}

const isUsers = (resource: string) => resource.replace(/^\//, '').toLowerCase() === 'users';

/** The cache; one per process (the handler factory holds it). */
export class OwnedSubscriptions {
  readonly #options: OwnedSubscriptionsOptions;
  #ids: Set<string> | undefined;
  #loadedAt = Number.NEGATIVE_INFINITY;
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown;
  #loading: Promise<void> | undefined;

  constructor(options: OwnedSubscriptionsOptions) {
    this.#options = options;
  }

  /**
   * The ids among `ids` that the app owns (compared case-insensitively: they are GUIDs). Throws
   * only when the table has never been read successfully and cannot be read now; the caller then
   * answers 503, so Graph delivers again.
   */
  async owned(ids: ReadonlySet<string>): Promise<Set<string>> {
    const now = this.#options.now().getTime();
    const known = this.#ids;
    const expired = known === undefined || now - this.#loadedAt >= OWNED_SUBSCRIPTIONS_TTL_MS;
    const unknown = known === undefined || [...ids].some((id) => !known.has(id.toLowerCase()));
    if (expired || unknown) {
      // A read under way is shared, even one started less than the interval ago.
      if (this.#loading) await this.#loading;
      else if (now - this.#attemptedAt >= OWNED_SUBSCRIPTIONS_MIN_REFRESH_MS) await this.#load(now);
    }
    const current = this.#ids;
    if (current === undefined) {
      throw new Error('Could not read the subscriptions table to check which subscriptions the app owns', {
        cause: this.#lastError,
      });
    }
    return new Set([...ids].filter((id) => current.has(id.toLowerCase())));
  }

  #load(now: number): Promise<void> {
    this.#attemptedAt = now;
    const read = async () => {
      try {
        const records = await this.#options.list();
        this.#ids = new Set(records.filter((r) => isUsers(r.resource)).map((r) => r.id.toLowerCase()));
        this.#loadedAt = now;
      } catch (error) {
        this.#lastError = error;
        if (this.#ids !== undefined) this.#options.onStaleList?.(error);
      }
    };
    // `.finally` runs after this assignment even if the read fails synchronously.
    this.#loading = read().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }
}
