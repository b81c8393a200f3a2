/**
 * The fault suite at size (test/support/fault-suite.ts says what it runs and checks): a generated
 * tenant of `--users` users (default 3,000) applied by `ems-licensing apply` in child processes
 * through a fault proxy (`--fault-rate` of requests answered 429/5xx or dropped, `--lost-rate` of
 * writes applied with their answer lost), `--kills` runs killed with SIGKILL part way, then runs
 * until one finishes; and the worker with crashed and repeated deliveries. Prints the figures that
 * go in docs/reliability.md.
 *
 *   npx tsx bench/fault-suite.bench.ts [--users 3000] [--fault-rate 0.2] [--lost-rate 0.1]
 *                                      [--kills 3] [--kill-every 150] [--seed 4242]
 */
import { parseArgs } from 'node:util';
import { startAzurite } from '../lib/cli/local/azurite-process.js';
import { runCliFaultSuite, runWorkerFaultSuite } from '../test/support/fault-suite.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '3000' },
    'fault-rate': { type: 'string', default: '0.2' },
    'lost-rate': { type: 'string', default: '0.1' },
    kills: { type: 'string', default: '3' },
    'kill-every': { type: 'string', default: '150' },
    seed: { type: 'string', default: '4242' },
    concurrency: { type: 'string', default: '8' },
  },
});

const azurite = await startAzurite();
try {
  const faultRate = Number(args['fault-rate']);
  const lostWriteRate = Number(args['lost-rate']);
  const cli = await runCliFaultSuite({
    users: Number(args.users),
    storageConnectionString: azurite.connectionString,
    faultRate,
    lostWriteRate,
    killsAfterWrites: Array.from({ length: Number(args.kills) }, () => Number(args['kill-every'])),
    leavers: 25,
    concurrency: Number(args.concurrency),
    seed: Number(args.seed),
  });
  const requests = Object.values(cli.proxy).reduce((a, b) => a + b, 0);
  const print = (label: string, value: string | number) =>
    console.log(`${label.padEnd(48)} ${String(value)}`);
  console.log(
    `\nCLI: ${String(cli.users)} users, ${String(faultRate * 100)} % faults, ${String(lostWriteRate * 100)} % lost write answers`,
  );
  print(
    'runs (killed / finished)',
    `${String(cli.runs.filter((r) => r.killed).length)} / ${String(cli.runs.filter((r) => !r.killed).length)}`,
  );
  print(
    'exit codes of finished runs',
    cli.runs
      .filter((r) => !r.killed)
      .map((r) => String(r.exitCode))
      .join(', '),
  );
  print('requests through the proxy', requests);
  print('  answered with an error or dropped', requests - cli.proxy.passed - cli.proxy.lostAnswer);
  print('  writes applied, answer lost', cli.proxy.lostAnswer);
  print('users whose licenses differ from the rules', cli.usersDifferingFromRules);
  print('changed users', cli.changedUsers);
  print(
    'license writes applied per changed user',
    (cli.appliedLicenseWrites / Math.max(1, cli.changedUsers)).toFixed(3),
  );
  print('changes with no final record', cli.changesWithoutRecord);
  print('jobs with more than one final record', cli.jobsWithSeveralFinals);
  print('pending records left', cli.pendingLeft);
  print('final records completed from what Graph showed', cli.recoveredRecords);
  print('leavers licensed again', cli.leaversLicensed);
  print('runs whose exit code disagrees with their summary', cli.dishonestRuns);
  print('wall (all runs and checks)', `${(cli.wallMs / 1000).toFixed(1)} s`);

  const worker = await runWorkerFaultSuite({
    storageConnectionString: azurite.connectionString,
    jobs: 30,
    leaves: 10,
    crashes: 12,
    duplicates: 12,
    faultRate,
    lostWriteRate,
    seed: Number(args.seed),
  });
  console.log(
    `\nWorker: ${String(worker.jobs)} jobs, ${String(worker.crashesInjected)} crashed deliveries, ${String(worker.duplicatesDelivered)} repeated`,
  );
  print('deliveries (with scheduled copies)', worker.deliveries);
  print('deliveries that threw', worker.errors.length);
  print('jobs without exactly one final record', worker.jobsWithoutOneFinal);
  print('users whose licenses differ from the rules', worker.usersDifferingFromRules);
  print(
    'license writes applied per changed user',
    (worker.appliedLicenseWrites / Math.max(1, worker.changedUsers)).toFixed(3),
  );
  print('changes with no final record', worker.changesWithoutRecord);
  print('pending records left', worker.pendingLeft);
  print('leavers licensed again', worker.leaversLicensed);
} finally {
  await azurite.stop();
}
