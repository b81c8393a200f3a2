/**
 * The command line of the guard's commands and options: which command takes what, and what is
 * refused before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../lib/cli/args.js';
import { parseCliArgs } from '../../lib/cli/command-table.js';

describe('parseCliArgs: plans, reverts, history and held rounds', () => {
  it('reads the plan artifact options and the guard’s release', () => {
    expect(parseCliArgs(['plan', '--out', 'plan.json', '--format', 'markdown'])).toMatchObject({
      command: 'plan',
      out: 'plan.json',
      format: 'markdown',
    });
    expect(
      parseCliArgs(['apply', '--plan', 'plan.json', '--allow-removals', '230', '--accept-warnings']),
    ).toMatchObject({ command: 'apply', plan: 'plan.json', allowRemovals: 230, acceptWarnings: true });
    expect(parseCliArgs(['apply']).allowRemovals).toBeNull();
  });

  it('takes the run, the user or the round each command names', () => {
    expect(parseCliArgs(['revert', 'run-1', '--apply'])).toMatchObject({
      target: 'run-1',
      user: null,
      apply: true,
    });
    expect(parseCliArgs(['history', 'ana@contoso.com', '--limit', '5'])).toMatchObject({
      user: 'ana@contoso.com',
      target: null,
      limit: 5,
    });
    expect(parseCliArgs(['held']).target).toBeNull();
    expect(parseCliArgs(['release', 'delta-1', '--discard'])).toMatchObject({
      target: 'delta-1',
      discard: true,
    });
  });

  it('refuses what would do the wrong thing, saying so', () => {
    expect(() => parseCliArgs(['revert'])).toThrow('revert needs <run id>: ems-licensing revert <run id>');
    expect(() => parseCliArgs(['release'])).toThrow('release needs <round id>');
    expect(() => parseCliArgs(['history'])).toThrow('history needs <user>');
    expect(() => parseCliArgs(['plan', '--allow-removals', '5'])).toThrow(
      'plan does not take --allow-removals (apply, revert do).',
    );
    expect(() => parseCliArgs(['apply', '--format', 'csv'])).toThrow(
      'apply does not take --format (plan, revert do).',
    );
    expect(() => parseCliArgs(['plan', '--format', 'pdf'])).toThrow(/--format must be one of markdown, csv/);
    expect(() => parseCliArgs(['plan', '--format', 'csv', '--json'])).toThrow(/cannot be combined/);
    expect(() => parseCliArgs(['apply', '--allow-removals', '-1'])).toThrow(UsageError);
    expect(() => parseCliArgs(['apply', '--allow-removals', 'all'])).toThrow(/whole number/);
    expect(() => parseCliArgs(['release', 'r', '--apply'])).toThrow('release does not take --apply');
  });
});
