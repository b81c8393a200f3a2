/**
 * One pacer per process, shared by every Graph request the process sends: it holds each request
 * until the app's documented budget allows it, so the app spends Graph's budget evenly instead of
 * in bursts that come back as waves of 429s.
 *
 * Budgets (learn.microsoft.com/graph/throttling-limits, identity and access, per app and tenant):
 * writes, 3,000 per 2 min 30 s by default; resource units (RU), 3,500 / 5,000 / 8,000 per 10 s by
 * tenant size. Two lanes, each a token bucket refilled at just under the budget (98 %) with a
 * short burst (one second's worth, built up only while idle):
 * - the write lane admits writes; each write also spends its resource unit on the read lane;
 * - the read lane admits every other identity request by its RU cost (./request-cost.ts).
 * Waiting requests are admitted first come, first served; a new process starts with an empty
 * bucket, so it never opens with a burst into a budget other instances may be spending.
 *
 * When Graph answers 429, the lanes it names (`x-ms-throttle-scope`: Read, Write or ReadWrite;
 * else `x-ms-throttle-information`; else both) stop admitting ANY request of this process until
 * `Retry-After` has passed, not only the request that got it: every other writer would hit the
 * same empty bucket (learn.microsoft.com/graph/throttling: "Microsoft Graph continues to log
 * resource usage while a client is being throttled"). The rate of each lane follows Graph's
 * signals through ./pace-controller.ts, which is also how several instances of the app share one
 * budget without talking to each other (README, "Pacing").
 *
 * A request that would have to wait for a pause longer than `maxWaitMs` is not held: it is
 * answered at once as throttled (the Functions worker then schedules the job again rather than
 * hold a Service Bus lock; the CLI records it DEFERRED).
 */
import type { Logger } from '../log.js';
import { PaceController, type RateChange } from './pace-controller.js';
import type { RequestCost } from './request-cost.js';
import { parseRetryAfterMs } from './retry-after.js';
import { defaultSleep, type Sleep } from './retry-middleware.js';

/** The budgets the pacer keeps to (GRAPH_WRITE_BUDGET_PER_150S, GRAPH_RU_BUDGET_PER_10S). */
export interface PacerBudget {
  /** Writes per 150 s per app and tenant; Graph's documented default is 3,000. */
  writesPer150s: number;
  /** Resource units per 10 s per app and tenant: 3,500 (under 50 users), 5,000, or 8,000 (over 500). */
  resourceUnitsPer10s: number;
}

/** Injected time and logging; defaults are the real clock and `setTimeout`. */
export interface PacerDeps {
  /** Milliseconds, monotonic. Default `performance.now()`. */
  now?: () => number;
  sleep?: Sleep;
  logger?: Logger;
  /** Longest pause a request waits out before it is answered as throttled. Default 60,000 ms. */
  maxWaitMs?: number;
}

/** The outcome of waiting for admission. */
export type Admission = { go: true } | { go: false; pausedForMs: number };

/** What the pacer did, for logs, tests and the benchmark. */
export interface PacerStats {
  admittedWrites: number;
  admittedResourceUnits: number;
  /** 429s that started or extended a pause. */
  pauses: number;
  /** Requests answered as throttled without being sent (pause longer than `maxWaitMs`). */
  held: number;
  writeRate: number;
  readRate: number;
}

/** Just under the budget: 2 % headroom for clock drift between us and Graph. */
const HEADROOM = 0.98;
/** The burst a lane can build up while idle: this many seconds of its rate. */
const BURST_SECONDS = 1;
/** The floor of a lane's rate: a hundredth of the budget. */
const MIN_SHARE = 0.01;
/** A 429 without `Retry-After` pauses this long (the retry middleware adds its own backoff). */
const DEFAULT_PAUSE_MS = 1_000;
/** The pump re-reads the rate at least this often while it waits. */
const MAX_NAP_MS = 1_000;

type LaneName = 'write' | 'read';

interface Waiter {
  amount: number;
  settled: boolean;
  resolve: (admission: Admission) => void;
}

/** One token bucket with its queue, pause and rate controller. */
class Lane {
  readonly name: LaneName;
  readonly controller: PaceController;
  tokens = 0;
  /** Tokens accrue from here (moved forward past a pause). */
  since: number;
  pausedUntil = Number.NEGATIVE_INFINITY;
  readonly queue: Waiter[] = [];
  pumping = false;

  constructor(name: LaneName, perSecond: number, capacity: number, start: number) {
    this.name = name;
    this.since = start;
    this.controller = new PaceController({
      maxRate: perSecond * HEADROOM,
      minRate: perSecond * MIN_SHARE,
      capacity,
      refillPerSecond: perSecond,
      startedAt: start,
    });
  }

  refill(now: number): number {
    const rate = this.controller.rate(now);
    if (now > this.since) {
      this.tokens = Math.min(rate * BURST_SECONDS, this.tokens + ((now - this.since) / 1000) * rate);
      this.since = now;
    }
    return rate;
  }

  pause(until: number): boolean {
    if (until <= this.pausedUntil) return false;
    this.pausedUntil = until;
    // Nothing builds up while paused: after the pause the lane starts from empty, at its pace,
    // instead of releasing a burst into a bucket that has only just refilled.
    this.tokens = Math.min(this.tokens, 0);
    this.since = Math.max(this.since, until);
    return true;
  }
}

/** The lanes a 429 stops, from its headers (learn.microsoft.com/graph/throttling-limits). */
function lanesOf429(headers: Headers): LaneName[] {
  const scopeLimit = headers.get('x-ms-throttle-scope')?.split('/')[1]?.toLowerCase();
  if (scopeLimit === 'read') return ['read'];
  if (scopeLimit === 'write') return ['write'];
  if (scopeLimit === 'readwrite') return ['write', 'read'];
  if (/WriteLimitExceeded/i.test(headers.get('x-ms-throttle-information') ?? '')) return ['write'];
  // The resource-unit limit (every request spends RU) or nothing said: stop both.
  return ['write', 'read'];
}

/** The process-wide Graph pacer. Build one per process and share it (see `createGraphClient`). */
export class GraphPacer {
  readonly #lanes: Record<LaneName, Lane>;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  readonly #logger: Logger | undefined;
  readonly #maxWaitMs: number;
  readonly #stats = { admittedWrites: 0, admittedResourceUnits: 0, pauses: 0, held: 0 };

  constructor(budget: PacerBudget, deps: PacerDeps = {}) {
    for (const [name, value] of Object.entries(budget)) {
      if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) {
        throw new RangeError(`pacer budget ${name} must be a positive number, got ${String(value)}`);
      }
    }
    this.#now = deps.now ?? (() => performance.now());
    this.#sleep = deps.sleep ?? defaultSleep;
    this.#logger = deps.logger;
    this.#maxWaitMs = deps.maxWaitMs ?? 60_000;
    const start = this.#now();
    this.#lanes = {
      write: new Lane('write', budget.writesPer150s / 150, budget.writesPer150s, start),
      read: new Lane('read', budget.resourceUnitsPer10s / 10, budget.resourceUnitsPer10s, start),
    };
  }

  stats(): PacerStats {
    const now = this.#now();
    return {
      ...this.#stats,
      writeRate: this.#lanes.write.controller.rate(now),
      readRate: this.#lanes.read.controller.rate(now),
    };
  }

  /** Milliseconds the lane of `cost` stays paused (0 when it is not). */
  pausedForMs(cost: RequestCost): number {
    if (cost.lane === 'none') return 0;
    return Math.max(0, this.#lanes[cost.lane].pausedUntil - this.#now());
  }

  /**
   * Waits until a request of this cost may be sent. Resolves `{ go: false }` at once when its lane
   * is paused for longer than `maxWaitMs`; rejects with the signal's reason when it aborts.
   */
  admit(cost: RequestCost, signal?: AbortSignal): Promise<Admission> {
    if (cost.lane === 'none') return Promise.resolve({ go: true });
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const lane = this.#lanes[cost.lane];
    const pausedForMs = lane.pausedUntil - this.#now();
    if (pausedForMs > this.#maxWaitMs) {
      this.#stats.held++;
      return Promise.resolve({ go: false, pausedForMs });
    }
    return new Promise<Admission>((resolve, reject) => {
      const onAbort = (): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        reject(signal?.reason as Error);
      };
      const waiter: Waiter = {
        amount: cost.lane === 'write' ? cost.writes : cost.resourceUnits,
        settled: false,
        resolve: (admission) => {
          signal?.removeEventListener('abort', onAbort);
          if (admission.go) this.#spent(cost);
          resolve(admission);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.queue.push(waiter);
      this.#startPump(lane);
    });
  }

  /** Takes in what Graph answered to a request of this cost: 429s, the limit percentage, RU used. */
  observe(cost: RequestCost, status: number, headers: Headers): void {
    if (cost.lane === 'none') return;
    const now = this.#now();
    const lane = this.#lanes[cost.lane];
    this.#logChange(lane, lane.controller.observe(headers.get('x-ms-throttle-limit-percentage'), now));
    // Graph's own count of RU (x-ms-resource-unit) corrects our estimate on the read lane.
    const charged = Number(headers.get('x-ms-resource-unit'));
    if (headers.has('x-ms-resource-unit') && Number.isFinite(charged) && charged !== cost.resourceUnits) {
      this.#lanes.read.tokens -= charged - cost.resourceUnits;
    }
    if (status !== 429) return;
    const retryAfterMs = parseRetryAfterMs(headers.get('retry-after')) ?? DEFAULT_PAUSE_MS;
    const names = lanesOf429(headers);
    let extended = false;
    for (const name of names) {
      const paused = this.#lanes[name];
      extended = paused.pause(now + retryAfterMs) || extended;
      this.#logChange(paused, paused.controller.throttled(now));
    }
    if (!extended) return;
    this.#stats.pauses++;
    this.#logger?.warn(
      {
        lanes: names,
        retryAfterMs,
        throttleScope: headers.get('x-ms-throttle-scope') ?? undefined,
        throttleInformation: headers.get('x-ms-throttle-information') ?? undefined,
      },
      'Graph answered 429: every request of these lanes waits out Retry-After',
    );
    // Waiters that would now wait longer than they may are answered at once.
    for (const name of names) this.#startPump(this.#lanes[name]);
  }

  #spent(cost: RequestCost): void {
    if (cost.lane === 'write') {
      this.#stats.admittedWrites += cost.writes;
      // A write spends its resource unit too; reads wait for it to be paid back.
      this.#lanes.read.tokens -= cost.resourceUnits;
    }
    this.#stats.admittedResourceUnits += cost.resourceUnits;
  }

  #logChange(lane: Lane, change: RateChange | null): void {
    if (change === null) return;
    this.#logger?.info(
      {
        lane: lane.name,
        reason: change.reason,
        fromPerSecond: Number(change.from.toFixed(2)),
        toPerSecond: Number(change.to.toFixed(2)),
        ...(change.reason === 'trend' ? { appTotalPerSecond: Number(change.totalPerSecond.toFixed(2)) } : {}),
      },
      'Graph pacing rate changed',
    );
  }

  #startPump(lane: Lane): void {
    this.#pump(lane).catch((error: unknown) => {
      // Only an injected sleep can fail; the waiters are released rather than left hanging.
      this.#logger?.error({ lane: lane.name, err: error }, 'Graph pacer stopped; requests go unpaced');
      for (const waiter of lane.queue.splice(0)) {
        if (waiter.settled) continue;
        waiter.settled = true;
        waiter.resolve({ go: true });
      }
    });
  }

  /** Admits the lane's waiters in order, as the bucket and any pause allow. One pump per lane. */
  async #pump(lane: Lane): Promise<void> {
    if (lane.pumping) return;
    lane.pumping = true;
    try {
      for (;;) {
        const head = lane.queue[0];
        if (head === undefined) return;
        if (head.settled) {
          lane.queue.shift();
          continue;
        }
        const now = this.#now();
        const pausedForMs = lane.pausedUntil - now;
        if (pausedForMs > this.#maxWaitMs) {
          for (const waiter of lane.queue.splice(0)) {
            if (waiter.settled) continue;
            waiter.settled = true;
            this.#stats.held++;
            waiter.resolve({ go: false, pausedForMs });
          }
          return;
        }
        const rate = lane.refill(now);
        // A request bigger than the burst (a large $batch) goes once the bucket is full, and
        // leaves it in debt.
        const needed = Math.min(head.amount, rate * BURST_SECONDS);
        // (A hair of tolerance: floating-point refill must not leave a waiter a 1e-13 ms nap.)
        const tokenWaitMs = lane.tokens >= needed - 1e-9 ? 0 : ((needed - lane.tokens) / rate) * 1000;
        const waitMs = Math.max(pausedForMs, tokenWaitMs);
        if (waitMs <= 0) {
          lane.tokens -= head.amount;
          lane.queue.shift();
          head.settled = true;
          head.resolve({ go: true });
          continue;
        }
        await this.#sleep(Math.min(waitMs, MAX_NAP_MS));
      }
    } finally {
      lane.pumping = false;
    }
  }
}
