/**
 * Decides how fast one lane of the pacer (writes, or reads' resource units) may go, from what
 * Graph tells every caller of the app in the tenant. Pure: the clock is passed in.
 *
 * Graph's identity limits are token buckets shared by every instance of the app in the tenant
 * (learn.microsoft.com/graph/throttling-limits). Two signals reach each instance:
 * - `x-ms-throttle-limit-percentage`, "returned only when the application consumed more than 0.8
 *   of its limit", "from 0.8 to 1.8". Read as the share of the bucket used, its trend over time
 *   gives the rate at which ALL the app's instances spend the budget together:
 *   total = refill + capacity × d(share)/dt. Each instance scales its own rate by target/total,
 *   so N instances that see the same trend land together on the target in one step, without
 *   knowing N. A flat trend (a lone instance just under the budget, even with the bucket nearly
 *   empty) changes nothing.
 * - 429 with `Retry-After`: the pacer pauses the lane (see pacer.ts); a 429 that follows the last
 *   one closely means the instances together still overspend, and the rate is cut by a fifth, at
 *   most once a second (the answers to requests already in flight say nothing new). Small cuts
 *   make N instances that start together on an empty bucket step down to the budget without
 *   falling far below it.
 * Three seconds after the last 429 and the last change of rate, the rate climbs back toward its
 * ceiling: a tenth of it per second when Graph sends no percentage header (under 0.8 of the
 * limit), a five-hundredth of it per second when it does, slowly enough that the occasional 429
 * that follows costs less than the headroom it wins.
 *
 * A new instance starts at the ceiling. While Graph sends no percentage header its bucket is more
 * than a fifth full (600 writes of 3,000), which gives the instances time to read the trend (one
 * to two seconds) before anyone is refused; when the header is there from the first answer, the
 * trend and the 429 pauses bring the newcomer to its share. A slower start would cost every CLI
 * run seconds for a risk the cushion already covers.
 *
 * The header's precision is not documented; a verdict waits until the share moved by at least two
 * steps of the precision seen (or 10 s passed), so a coarse header cannot fake a trend.
 */

/** Settings of one lane's controller. */
export interface PaceControllerOptions {
  /** The ceiling, per second: just under Graph's refill rate. */
  maxRate: number;
  /** The floor, per second; the rate never goes below it. */
  minRate: number;
  /** Graph's bucket size for this limit (e.g. 3,000 writes) and its refill per second (20). */
  capacity: number;
  refillPerSecond: number;
  /** When the controller starts (the clock of `rate`/`observe`); default 0. */
  startedAt?: number;
}

/** Why the rate changed, for logs and tests. */
export type RateChange =
  | { reason: 'trend'; from: number; to: number; totalPerSecond: number }
  | { reason: 'repeated429'; from: number; to: number };

interface Sample {
  at: number;
  share: number;
}

/** Shortest span of samples a trend is read from, and the span after which a flat one is accepted. */
const MIN_SPAN_MS = 1_000;
const MAX_SPAN_MS = 10_000;
/** Without a percentage header this long, the rate climbs back, by this share of the ceiling per second. */
const QUIET_MS = 3_000;
const CLIMB_PER_SECOND = 0.1;
/** A 429 within this long of the previous one cuts the rate to this share, at most once per CUT_SPACING_MS. */
const REPEAT_429_MS = 10_000;
const CUT_ON_REPEAT = 0.8;
const CUT_SPACING_MS = 1_000;
/** With the header there, no 429 for this long: creep up by this share of the ceiling per second. */
const PROBE_AFTER_MS = 3_000;
const PROBE_PER_SECOND = 0.002;
/** Total spend within ±5 % of the target (−10 % below) is left alone. */
const OVER = 1.05;
const UNDER = 0.9;

/** One lane's rate. */
export class PaceController {
  readonly #options: PaceControllerOptions;
  #rate: number;
  #samples: Sample[] = [];
  /** The smallest step the header has shown (10^-decimals). */
  #step = 0.01;
  #lastHeaderAt = Number.NEGATIVE_INFINITY;
  #climbedTo: number;
  #last429At = Number.NEGATIVE_INFINITY;
  #lastCutAt = Number.NEGATIVE_INFINITY;
  #lastChangeAt = Number.NEGATIVE_INFINITY;

  constructor(options: PaceControllerOptions) {
    if (!(options.minRate > 0) || !(options.maxRate >= options.minRate)) {
      throw new RangeError(
        `rates must satisfy 0 < minRate <= maxRate, got ${options.minRate}, ${options.maxRate}`,
      );
    }
    this.#options = options;
    this.#rate = options.maxRate;
    this.#climbedTo = options.startedAt ?? 0;
  }

  /** The admitted rate per second now (climbing back when Graph has been quiet). */
  rate(now: number): number {
    if (this.#rate < this.#options.maxRate && now > this.#climbedTo) {
      // Calm: no 429 and no change of rate for a while. Quiet: no percentage header either.
      const calmSince = Math.max(this.#last429At, this.#lastChangeAt) + PROBE_AFTER_MS;
      const quietSince = Math.max(this.#lastHeaderAt + QUIET_MS, calmSince);
      let climb = 0;
      if (now > quietSince) {
        climb = ((now - Math.max(quietSince, this.#climbedTo)) / 1000) * CLIMB_PER_SECOND;
      } else if (now > calmSince) {
        climb = ((now - Math.max(calmSince, this.#climbedTo)) / 1000) * PROBE_PER_SECOND;
      }
      this.#rate = Math.min(this.#options.maxRate, this.#rate + climb * this.#options.maxRate);
    }
    this.#climbedTo = Math.max(this.#climbedTo, now);
    return this.#rate;
  }

  /**
   * A response of this lane arrived. `percentage` is the raw `x-ms-throttle-limit-percentage`
   * value, or null when Graph sent none. Returns the change made, if any.
   */
  observe(percentage: string | null, now: number): RateChange | null {
    if (percentage === null) return null;
    const share = parseShare(percentage);
    if (share === null) return null;
    this.rate(now);
    this.#lastHeaderAt = now;
    this.#step = Math.min(this.#step, stepOf(percentage));
    this.#samples.push({ at: now, share });
    const first = this.#samples[0];
    if (first === undefined || this.#samples.length < 4) return null;
    const span = now - first.at;
    const moved = Math.abs(share - first.share);
    if (span < MIN_SPAN_MS || (moved < 2 * this.#step && span < MAX_SPAN_MS)) return null;
    const slopePerSecond = leastSquaresSlope(this.#samples) * 1000;
    this.#samples = [];
    const { capacity, refillPerSecond, maxRate, minRate } = this.#options;
    const total = Math.max(0, refillPerSecond + capacity * slopePerSecond);
    const target = maxRate;
    if (total <= target * OVER && total >= target * UNDER) return null;
    // Nobody spends (total 0): we are not the reason the share is high; go to the ceiling.
    const factor = total === 0 ? Number.POSITIVE_INFINITY : target / total;
    const from = this.#rate;
    this.#rate = clamp(from * factor, minRate, maxRate);
    if (this.#rate === from) return null;
    this.#lastChangeAt = now;
    return { reason: 'trend', from, to: this.#rate, totalPerSecond: total };
  }

  /** Graph answered 429 for this lane. Returns the change made, if any. */
  throttled(now: number): RateChange | null {
    this.rate(now);
    const repeated = now - this.#last429At <= REPEAT_429_MS;
    this.#last429At = now;
    // Samples taken before the refusal describe a state that the pause is about to change.
    this.#samples = [];
    if (!repeated || now - this.#lastCutAt < CUT_SPACING_MS) return null;
    this.#lastCutAt = now;
    this.#lastChangeAt = now;
    const from = this.#rate;
    this.#rate = clamp(from * CUT_ON_REPEAT, this.#options.minRate, this.#options.maxRate);
    return this.#rate === from ? null : { reason: 'repeated429', from, to: this.#rate };
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/**
 * The header as a share of the limit: `0.85` → 0.85. A value above 2 is read as a percentage
 * (`85` → 0.85), tolerating a sender that scales it; anything unreadable is ignored.
 */
export function parseShare(raw: string): number | null {
  const value = Number(raw.trim());
  if (!Number.isFinite(value) || value < 0) return null;
  return value > 2 ? value / 100 : value;
}

/** The precision a header value shows: `0.85` → 0.01, `0.9` → 0.1, `85` → 0.01 (a percentage). */
function stepOf(raw: string): number {
  const text = raw.trim();
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  const step = 10 ** -decimals;
  return Number(text) > 2 ? step / 100 : step;
}

/** Slope of share over time (per ms) by least squares. */
function leastSquaresSlope(samples: readonly Sample[]): number {
  const n = samples.length;
  let sumT = 0;
  let sumS = 0;
  for (const s of samples) {
    sumT += s.at;
    sumS += s.share;
  }
  const meanT = sumT / n;
  const meanS = sumS / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.at - meanT) * (s.share - meanS);
    den += (s.at - meanT) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
