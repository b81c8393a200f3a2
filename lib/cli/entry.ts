/**
 * Process entry of `ems-licensing` (bin/ems-licensing.js and `npm start` run this): the one place
 * the CLI reads process.env and sets the exit code.
 */
import { main } from './main.js';

const io = {
  stdout: { write: (t: string) => void process.stdout.write(t) },
  stderr: { write: (t: string) => void process.stderr.write(t) },
  progress: process.stderr.isTTY,
  logDestination: process.stderr,
};

try {
  process.exitCode = await main(process.argv.slice(2), process.env, io);
} catch (e) {
  process.stderr.write(`ems-licensing failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
