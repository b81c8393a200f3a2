/**
 * Seats handed out while a catalog is in use. The catalog is the tenant's data as Graph listed it
 * (immutable); the ledger keeps what this process has given since, so concurrent jobs sharing one
 * catalog cannot give more seats than there are, and remembers SKUs Graph has said are full.
 */
export class SeatLedger {
  readonly #listedFree: (skuId: string) => number;
  readonly #reserved = new Map<string, number>();
  readonly #exhausted = new Set<string>();

  /** @param listedFree - free seats per SKU as listed (Catalog.freeSeats). */
  constructor(listedFree: (skuId: string) => number) {
    this.#listedFree = listedFree;
  }

  /** Seats still free: listed free minus reserved here; 0 once Graph said the SKU is full. */
  readonly free = (skuId: string): number => {
    const key = skuId.toLowerCase();
    if (this.#exhausted.has(key)) return 0;
    return Math.max(0, this.#listedFree(key) - (this.#reserved.get(key) ?? 0));
  };

  /**
   * Takes one seat before an add; false when none is free. Keep it after a successful add (the
   * listed counts do not move until the catalog is read again); release it when the add is not made.
   */
  reserve(skuId: string): boolean {
    if (this.free(skuId) <= 0) return false;
    const key = skuId.toLowerCase();
    this.#reserved.set(key, (this.#reserved.get(key) ?? 0) + 1);
    return true;
  }

  release(skuId: string): void {
    const key = skuId.toLowerCase();
    const held = this.#reserved.get(key) ?? 0;
    if (held <= 1) this.#reserved.delete(key);
    else this.#reserved.set(key, held - 1);
  }

  /** Graph refused an add for lack of seats: none of this SKU for the life of this ledger. */
  markExhausted(skuId: string): void {
    this.#exhausted.add(skuId.toLowerCase());
  }

  /** Seats reserved and not released (diagnostics, tests). */
  reserved(skuId: string): number {
    return this.#reserved.get(skuId.toLowerCase()) ?? 0;
  }
}
