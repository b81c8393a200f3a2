/**
 * The order of HR's statements about one person, used by the leaver store (only a newer statement
 * replaces a mark) and by the engine's leaver rule (lib/engine/leaver-policy.ts).
 */
import type { LeaverMark } from './ports.js';

/**
 * Whether `a` comes after `b`: later when it takes effect (`at`); at the same effective time, the
 * one stated later; at a full tie, a leave (the safer reading).
 */
export function isNewerMark(a: LeaverMark, b: LeaverMark): boolean {
  if (a.at.getTime() !== b.at.getTime()) return a.at.getTime() > b.at.getTime();
  if (a.statedAt.getTime() !== b.statedAt.getTime()) return a.statedAt.getTime() > b.statedAt.getTime();
  return a.state === 'left' && b.state !== 'left';
}
