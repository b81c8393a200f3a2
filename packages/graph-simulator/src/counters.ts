/** Request counters by kind, for tests and the benchmark (faulted requests count too). */
import { REQUEST_KINDS, type RequestKind, type SimulatorCounters } from './types.js';

export class Counters implements SimulatorCounters {
  #counts = new Map<RequestKind, number>();
  #throttled = 0;

  /** Called by the router for every answer with status 429. */
  throttledAnswer(): void {
    this.#throttled++;
  }

  throttled(): number {
    return this.#throttled;
  }

  increment(kind: RequestKind): void {
    this.#counts.set(kind, this.get(kind) + 1);
  }

  get(kind: RequestKind): number {
    return this.#counts.get(kind) ?? 0;
  }

  /** Directory writes only: assignLicense + patchUser. Subscription calls are not counted here. */
  writes(): number {
    return this.get('assignLicense') + this.get('patchUser');
  }

  snapshot(): Record<RequestKind, number> {
    return Object.fromEntries(REQUEST_KINDS.map((k) => [k, this.get(k)])) as Record<RequestKind, number>;
  }

  reset(): void {
    this.#counts.clear();
    this.#throttled = 0;
  }
}
