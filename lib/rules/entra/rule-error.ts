/**
 * A membership rule that cannot be used: bad syntax, or a part this app cannot evaluate. It names
 * the part, where it is (column, and line when the rule spans lines) and what to change.
 */

/** 1-based line and column of `offset` in `text`. */
export function positionIn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charAt(i) === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export class EntraRuleError extends Error {
  override name = 'EntraRuleError';
  /** 0-based offset of the part in the rule. */
  readonly offset: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** The text of the offending part (empty at the end of the rule). */
  readonly part: string;
  /** What is wrong, without the position. */
  readonly reason: string;
  /** What to write instead. */
  readonly fix: string;

  constructor(ruleText: string, at: { start: number; end: number }, reason: string, fix: string) {
    const { line, column } = positionIn(ruleText, at.start);
    const part = ruleText.slice(at.start, at.end);
    const where = `${ruleText.includes('\n') ? `line ${line}, ` : ''}column ${column}`;
    super(`entra rule, ${where}${part === '' ? ' (end of the rule)' : ` ("${part}")`}: ${reason}`);
    this.offset = at.start;
    this.line = line;
    this.column = column;
    this.part = part;
    this.reason = reason;
    this.fix = fix;
  }
}
