import { describe, expect, it } from 'vitest';
import { quietBucket, quietRangeOf } from '../../lib/store/quiet-rows.js';

describe('quiet decision buckets', () => {
  it('matches the shell recipe in docs/operations.md (first SHA-1 byte of the id, modulo 64, hex)', () => {
    // printf '%02x' $(( 0x$(printf %s "$ID" | sha1sum | cut -c1-2) % 64 ))
    expect(quietBucket('00000000-0000-4000-8000-000000000001')).toBe('32');
    expect(quietBucket('efccb6f7-5641-4e0e-bd10-b4976e1bf68e')).toBe('3e');
  });

  it('gives a RowKey range that holds its own bucket only', () => {
    const { from, to } = quietRangeOf('efccb6f7-5641-4e0e-bd10-b4976e1bf68e');
    expect(from).toBe('3e|');
    expect('3e|any-job' >= from && '3e|any-job' < to).toBe(true);
    expect('3f|any-job' < to).toBe(false);
    expect('3e' < from).toBe(true);
  });
});
