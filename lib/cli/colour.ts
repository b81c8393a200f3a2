/**
 * Colours for outcomes, on a terminal only. The conventions followed: NO_COLOR set to anything
 * non-empty turns colour off (no-color.org), as does `--no-color`, TERM=dumb, or output that is not
 * a terminal; FORCE_COLOR set to anything but `0` turns it on even into a pipe.
 */
import type { OutcomeKind } from '../licensing/types.js';

/** Whether stdout gets colours. */
export function colourEnabled(options: {
  isTTY: boolean;
  env: Record<string, string | undefined>;
  noColorFlag: boolean;
}): boolean {
  const { env } = options;
  if (options.noColorFlag || (env.NO_COLOR !== undefined && env.NO_COLOR !== '')) return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return options.isTTY && env.TERM !== 'dumb';
}

// SGR codes: 1 bold, 2 dim, 31 red, 32 green, 33 yellow, 35 magenta, 36 cyan. Partial, so an
// outcome kind added later prints (uncoloured) before it is given a style here.
const OUTCOME_STYLE: Partial<Record<OutcomeKind, string>> = {
  ASSIGNED: '32',
  UPDATED: '36',
  REMOVED: '33',
  UNCHANGED: '2',
  NO_RULE: '2',
  CONFLICT: '35',
  DEFERRED: '33',
  FAILED: '1;31',
  HELD: '1;33',
  SKIPPED: '2',
};

/** Paints text with a style, or returns it unchanged when colour is off. */
export type Paint = (text: string, outcome: OutcomeKind) => string;

export function outcomePainter(enabled: boolean): Paint {
  if (!enabled) return (text) => text;
  return (text, outcome) => {
    const style = OUTCOME_STYLE[outcome];
    return style === undefined ? text : `\x1b[${style}m${text}\x1b[0m`;
  };
}
