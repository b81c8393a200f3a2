import { describe, expect, it } from 'vitest';
import { SeatLedger } from '../../lib/engine/seat-ledger.js';

const EMS = 'efccb6f7-5641-4e0e-bd10-b4976e1bf68e';

/** A ledger over listed free seats (as Catalog.freeSeats gives them). */
function ledger(listed: Record<string, number>): SeatLedger {
  return new SeatLedger((skuId) => listed[skuId.toLowerCase()] ?? 0);
}

describe('SeatLedger', () => {
  it('hands out no more seats than are listed free, whatever the case of the id', () => {
    const seats = ledger({ [EMS]: 4 });
    const granted = Array.from({ length: 6 }, (_, i) => seats.reserve(i % 2 === 0 ? EMS : EMS.toUpperCase()));
    expect(granted).toEqual([true, true, true, true, false, false]);
    expect(seats.free(EMS)).toBe(0);
    seats.release(EMS.toUpperCase());
    expect(seats.free(EMS)).toBe(1);
    expect(seats.reserved(EMS)).toBe(3);
  });

  it('ignores a release without a reservation (never more free than listed)', () => {
    const seats = ledger({ [EMS]: 2 });
    seats.release(EMS);
    expect(seats.free(EMS)).toBe(2);
    expect(seats.reserved(EMS)).toBe(0);
  });

  it('has no seat of a SKU Graph said is full, whatever the listed counts say', () => {
    const seats = ledger({ [EMS]: 9 });
    seats.markExhausted(EMS.toUpperCase());
    expect(seats.free(EMS)).toBe(0);
    expect(seats.reserve(EMS)).toBe(false);
  });

  it('has none of a SKU the tenant does not list', () => {
    expect(ledger({}).reserve(EMS)).toBe(false);
  });
});
