/**
 * The command line, parsed from the command table: options anywhere, did-you-mean for commands
 * and options, options refused by commands that do not take them, help made from the same table,
 * and options npm kept for itself.
 */
import { describe, expect, it } from 'vitest';
import {
  optionsTakenByNpm,
  parseCommandLine,
  toCliArgs,
  UsageError,
  type CommandTable,
} from '../../lib/cli/args.js';
import { COMMAND_TABLE, COMMANDS, FLAGS } from '../../lib/cli/command-table.js';
import { helpText } from '../../lib/cli/help.js';

const parse = (...argv: string[]) => {
  const line = parseCommandLine(argv, COMMAND_TABLE);
  if (line.command === null) throw new Error('no command');
  return toCliArgs({ ...line, command: line.command });
};

const usageError = (...argv: string[]): string => {
  try {
    parse(...argv);
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`no UsageError for ${argv.join(' ')}`);
};

describe('parseCommandLine', () => {
  it('reads options before and after the command, with = or a separate value', () => {
    const expected = {
      command: 'apply',
      rules: 'r.yaml',
      graphUrl: 'http://127.0.0.1:1',
      json: true,
      concurrency: 4,
      yes: true,
    };
    expect(
      parse(
        'apply',
        '--rules',
        'r.yaml',
        '--graph-url=http://127.0.0.1:1',
        '--json',
        '--concurrency',
        '4',
        '-y',
      ),
    ).toMatchObject(expected);
    expect(
      parse(
        '--json',
        '--rules=r.yaml',
        'apply',
        '--concurrency=4',
        '--yes',
        '--graph-url',
        'http://127.0.0.1:1',
      ),
    ).toMatchObject(expected);
  });

  it('takes the user of explain wherever the options are, and after --', () => {
    expect(parse('explain', '--json', 'ada@contoso.com').user).toBe('ada@contoso.com');
    expect(parse('--json', 'explain', 'ada@contoso.com', '--rules', 'x').user).toBe('ada@contoso.com');
    expect(parse('explain', '--', '--odd-user-name').user).toBe('--odd-user-name');
  });

  it('suggests the command or option meant', () => {
    expect(usageError('pln')).toBe('Unknown command "pln": did you mean "plan"?');
    expect(usageError('sets')).toBe('Unknown command "sets": did you mean "seats"?');
    expect(usageError('plan', '--jsno')).toBe('Unknown option --jsno: did you mean --json?');
    expect(usageError('apply', '--concurency', '4')).toBe(
      'Unknown option --concurency: did you mean --concurrency?',
    );
    expect(usageError('frobnicate')).toBe(
      'Unknown command "frobnicate": the commands are plan, apply, explain, validate, revert, history, held, release, seats, import-gbl, take-over',
    );
  });

  it('refuses an option the command does not take, naming the one that does', () => {
    expect(usageError('plan', '--yes')).toBe('plan does not take --yes (apply does).');
    expect(usageError('explain', 'x', '--concurrency', '2')).toBe(
      'explain does not take --concurrency (plan, apply, validate, revert, seats, take-over do).',
    );
    // --apply belongs to revert and take-over; whoever typed `plan --apply` more likely wanted `apply`.
    expect(usageError('plan', '--apply')).toBe(
      'plan does not take --apply (revert, take-over do; to make changes for every user, run: ems-licensing apply).',
    );
    expect(usageError('apply', '--out', 'x.yaml')).toBe(
      'apply does not take --out (plan, revert, import-gbl do).',
    );
  });

  it('reads the options of import-gbl and take-over', () => {
    expect(parse('import-gbl', '--out', 'r.yaml', '--force', '--usage-location', 'gb')).toMatchObject({
      command: 'import-gbl',
      out: 'r.yaml',
      force: true,
      usageLocation: 'GB',
      apply: false,
    });
    expect(parse('take-over', '--apply', '--rules', 'r.yaml')).toMatchObject({
      command: 'take-over',
      apply: true,
      rules: 'r.yaml',
      out: null,
      usageLocation: null,
    });
    expect(usageError('import-gbl', '--usage-location', 'USA')).toBe(
      '--usage-location takes a two-letter country code (ISO 3166-1 alpha-2, e.g. US), got "USA".',
    );
  });

  it('refuses missing values, values on switches, missing and extra operands, bad numbers', () => {
    expect(usageError('plan', '--rules')).toBe('--rules FILE: the FILE is missing.');
    expect(usageError('plan', '--rules', '--json')).toBe('--rules FILE: the FILE is missing.');
    expect(usageError('plan', '--json=yes')).toBe('--json takes no value (got "yes").');
    expect(usageError('explain')).toBe('explain needs <user>: ems-licensing explain <user>');
    expect(usageError('plan', 'extra')).toBe('Unexpected argument "extra" after plan: ems-licensing plan');
    expect(usageError('plan', '--concurrency', '0')).toBe(
      '--concurrency must be a whole number from 1 to 64, got "0".',
    );
    expect(usageError('plan', '--concurrency', '2.5')).toBe(
      '--concurrency must be a whole number from 1 to 64, got "2.5".',
    );
  });

  it('gives no command for a line of options only (--help, --version)', () => {
    expect(parseCommandLine(['--version'], COMMAND_TABLE)).toEqual({
      command: null,
      operands: [],
      options: new Map([['version', true]]),
    });
  });

  it('works from any table: a new command is one registration', () => {
    const table: CommandTable = {
      commands: [
        ...COMMANDS,
        {
          name: 'history',
          summary: 'A user’s outcomes',
          operands: [{ name: 'user', required: true }],
          flags: ['limit'],
        },
      ],
      flags: [...FLAGS, { name: 'limit', value: 'N', help: 'How many' }],
      global: COMMAND_TABLE.global,
    };
    expect(parseCommandLine(['history', 'ada', '--limit', '5'], table)).toMatchObject({
      command: 'history',
      operands: ['ada'],
      options: new Map([['limit', '5']]),
    });
    expect(() => parseCommandLine(['histroy'], table)).toThrow('did you mean "history"?');
    expect(helpText(table, null)).toContain('history <user>');
  });
});

describe('help', () => {
  it('lists every command and every option of the table', () => {
    const text = helpText(COMMAND_TABLE, null);
    for (const c of COMMANDS) expect(text).toContain(`  ${c.name}`);
    for (const f of FLAGS) expect(text).toContain(`--${f.name}`);
    expect(text).toContain('Exit codes: 0 done; 1 some user FAILED');
  });

  it('shows a command its own options and the global ones, not the others', () => {
    const apply = COMMANDS.find((c) => c.name === 'apply') ?? null;
    const text = helpText(COMMAND_TABLE, apply);
    expect(text).toMatch(/^Usage: ems-licensing apply \[options\]/);
    expect(text).toContain('--yes');
    expect(text).toContain('--json');
    const plan = helpText(COMMAND_TABLE, COMMANDS.find((c) => c.name === 'plan') ?? null);
    expect(plan).not.toContain('--yes');
  });
});

describe('optionsTakenByNpm', () => {
  it('names the CLI options npm kept for itself under npm run', () => {
    const env = {
      npm_command: 'run',
      npm_lifecycle_event: 'cli',
      npm_config_json: 'true',
      npm_config_graph_url: 'true',
    };
    expect(optionsTakenByNpm(env, FLAGS)).toEqual(['--graph-url', '--json']);
  });

  it('does not take an empty setting exported beforehand for one npm kept', () => {
    expect(optionsTakenByNpm({ npm_command: 'run', npm_config_yes: '' }, FLAGS)).toEqual([]);
  });

  it('says nothing outside npm run (npx passes everything through)', () => {
    expect(optionsTakenByNpm({ npm_command: 'exec', npm_config_yes: 'true' }, FLAGS)).toEqual([]);
    expect(optionsTakenByNpm({}, FLAGS)).toEqual([]);
  });
});
