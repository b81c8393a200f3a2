/** `--help` text, from the command table (command-table.ts). */
import { usageLine, type CommandShape, type CommandTable, type FlagSpec } from './args.js';

const flagText = (f: FlagSpec): string =>
  `${f.short ? `-${f.short}, ` : '    '}--${f.name}${f.value ? ` ${f.value}` : ''}`;

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

function optionLines(flags: readonly FlagSpec[]): string[] {
  const col = Math.max(...flags.map((f) => flagText(f).length)) + 2;
  return flags.map((f) => `  ${flagText(f).padEnd(col)}${wrap(f.help, 96 - col, ' '.repeat(col + 2))}`);
}

export const EXIT_CODE_HELP =
  'Exit codes: 0 done; 1 some user FAILED (or would), the rules do not fit the tenant, or import-gbl found something to act on; 2 bad command line, setting or rules file, rules that look wrong without --accept-warnings, or a saved plan refused; 3 run not finished (users put off or not read: run again; removals held by the guard, or users of a saved plan skipped: see what it printed); 4 Graph or storage unreachable, or sign-in failed; 70 unexpected failure (run with --debug).';

/** The help for every command, or for one. */
export function helpText(table: CommandTable, command: CommandShape | null): string {
  const byName = new Map(table.flags.map((f) => [f.name, f]));
  if (command) {
    const own = command.flags.map((n) => byName.get(n)).filter((f): f is FlagSpec => f !== undefined);
    const global = table.global.map((n) => byName.get(n)).filter((f): f is FlagSpec => f !== undefined);
    return [
      `Usage: ${usageLine(command)} [options]`,
      '',
      command.summary,
      '',
      ...(own.length > 0 ? ['Options:', ...optionLines(own), ''] : []),
      'Options of every command:',
      ...optionLines(global),
      '',
      EXIT_CODE_HELP,
    ].join('\n');
  }
  const col = Math.max(...table.commands.map((c) => usageLine(c).length - 'ems-licensing '.length)) + 2;
  return [
    'Usage: ems-licensing <command> [options]',
    '',
    'Commands:',
    ...table.commands.map(
      (c) =>
        `  ${usageLine(c).slice('ems-licensing '.length).padEnd(col)}${wrap(c.summary, 96 - col, ' '.repeat(col + 2))}`,
    ),
    '',
    'Options:',
    ...optionLines(table.flags),
    '',
    'Options may come before or after the command. Through npm, put them after `--`:',
    '`npm run cli -- plan --json`; `npx ems-licensing plan --json` needs no `--`.',
    '',
    EXIT_CODE_HELP,
    'More: docs/cli.md.',
  ].join('\n');
}
