/**
 * "Did you mean …?" for near misses in the rules file (unknown keys, attribute names, SKU and
 * plan names, the properties and operators of Entra membership rules). Case is ignored, as typos like `memberof` are the most common kind.
 */

/**
 * Edit distance (insertions, deletions, substitutions, and a swap of two neighbours counted as
 * one edit: `jsno` is one edit from `json`) between two strings.
 */
function distance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const up = rows[i - 1] ?? [];
      let d = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row[j] = d;
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? Math.max(a.length, b.length);
}

/** Ignore case, `_`, `-` and spaces: `enabled_plans` is `enabledPlans`. */
const normalise = (s: string): string => s.toLowerCase().replace(/[_\-\s]/g, '');

/**
 * The candidate closest to `input`, or null when none is close enough (at most a third of the
 * word's length in edits, and at least one allowed) or two are equally close.
 */
export function closest(input: string, candidates: readonly string[]): string | null {
  const target = normalise(input);
  let best: string | null = null;
  let bestDistance = Infinity;
  let tied = false;
  for (const candidate of candidates) {
    const d = distance(target, normalise(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
      tied = false;
    } else if (d === bestDistance && candidate !== best) {
      tied = true;
    }
  }
  // Two equally near candidates (`of`: on or off?) are no suggestion at all.
  const allowed = Math.max(1, Math.floor(target.length / 3));
  return bestDistance <= allowed && !tied ? best : null;
}

/** `did you mean "x"?` or, when nothing is close, the list of valid values. */
export function suggestion(input: string, candidates: readonly string[], noun = 'valid values'): string {
  const near = closest(input, candidates);
  return near !== null
    ? `did you mean "${near}"?`
    : `${noun}: ${candidates.length > 0 ? candidates.join(', ') : '(none)'}`;
}
