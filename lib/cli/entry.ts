/**
 * Process entry of `ems-licensing` (bin/ems-licensing.js and `npm start` run this): the one place
 * the CLI reads process.env, looks at the terminal and sets the exit code.
 *
 * A closed pipe (`ems-licensing plan | head`) ends the run quietly: a command that only reads
 * stops at once with exit 0; `apply` goes on to the end, silently, so every change it starts is
 * recorded.
 */
import { createInterface } from 'node:readline';
import { colourEnabled } from './colour.js';
import { commandWrites, parseCliArgs } from './command-table.js';
import { EXIT } from './exit-codes.js';
import { main } from './main.js';

const argv = process.argv.slice(2);

function writesToStorage(): boolean {
  try {
    return commandWrites(parseCliArgs(argv));
  } catch {
    return false;
  }
}

let stdoutClosed = false;
function onStdoutClosed(): void {
  stdoutClosed = true;
  if (!writesToStorage()) process.exit(EXIT.ok);
}
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  onStdoutClosed();
});

function writeStdout(text: string): void {
  if (stdoutClosed) return;
  process.stdout.write(text);
  // A write to a closed pipe fails at once, but its 'error' event comes a tick later: a run whose
  // last lines are written in one go would print its summary (on stderr) before it. Stop here.
  const failed: NodeJS.ErrnoException | null = process.stdout.errored;
  if (failed?.code === 'EPIPE') onStdoutClosed();
}

function ask(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let answered = false;
    rl.on('close', () => {
      if (!answered) resolve('');
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

const io = {
  stdout: { write: writeStdout },
  stderr: { write: (t: string) => void process.stderr.write(t) },
  progress: process.stderr.isTTY,
  colour: colourEnabled({
    isTTY: process.stdout.isTTY,
    env: process.env,
    noColorFlag: argv.includes('--no-color'),
  }),
  interactive: process.stdin.isTTY && process.stderr.isTTY,
  ask,
  logDestination: process.stderr,
};

try {
  process.exitCode = await main(argv, process.env, io);
} catch (e) {
  // main turns every failure into a line; this is the last net, for a bug in that very code.
  process.stderr.write(
    `ems-licensing failed unexpectedly: ${e instanceof Error ? e.message : String(e)}\n${argv.includes('--debug') && e instanceof Error ? `${e.stack ?? ''}\n` : ''}`,
  );
  process.exitCode = EXIT.internal;
}
