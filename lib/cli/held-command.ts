/**
 * `ems-licensing held [ROUND_ID]` and `ems-licensing release ROUND_ID [--discard]`: the rounds the
 * Functions app's blast-radius guard held, and their deliberate release. Both need the app's
 * storage (STORAGE_TABLE_ENDPOINT or STORAGE_CONNECTION_STRING); a release also needs its Service
 * Bus queue (ServiceBusConnection__fullyQualifiedNamespace, or ServiceBusConnection), to which it
 * sends the held users' jobs again, marked released. The operator needs what `azd up` gives them:
 * Storage Table Data Contributor and Azure Service Bus Data Sender.
 */
import { skuCountText } from '../engine/blast-guard.js';
import {
  describeRound,
  discardRound,
  listRounds,
  releaseRound,
  type CloseResult,
} from '../engine/held-rounds.js';
import { releaseText } from '../engine/worker-guard.js';
import type { HeldRound } from '../store/ports.js';
import { EXIT } from './exit-codes.js';
import type { PassContext } from './run-pass.js';

const NEEDS_STORAGE =
  "Held rounds live in the Functions app's storage: set STORAGE_TABLE_ENDPOINT (with STORAGE_TABLE_PREFIX if the app uses one), or STORAGE_CONNECTION_STRING.";

function roundLine(round: HeldRound, users: number): string {
  return `${round.id}  ${round.state.padEnd(9)} ${round.path.padEnd(7)} since ${round.createdAt}  ${String(users)} user(s) held${round.state === 'released' ? `, ${String(round.releasedJobs)} job(s) sent again` : ''}`;
}

export async function runHeld(c: PassContext): Promise<number> {
  const { args, runtime, io } = c;
  if (!runtime.storageConfigured) {
    io.stderr.write(`${NEEDS_STORAGE}\n`);
    return EXIT.usage;
  }
  const { guard } = await runtime.stores();
  if (args.target === null) {
    const rounds = await listRounds(guard);
    if (args.json) io.stdout.write(`${JSON.stringify(rounds)}\n`);
    else if (rounds.length === 0) io.stdout.write('No round has been held.\n');
    else io.stdout.write(`${rounds.map((r) => roundLine(r.round, r.users)).join('\n')}\n`);
    return EXIT.ok;
  }
  const found = await describeRound(guard, args.target);
  if (found === null) {
    io.stderr.write(`No held round ${args.target}: \`ems-licensing held\` lists them.\n`);
    return EXIT.failed;
  }
  if (args.json) {
    io.stdout.write(`${JSON.stringify(found)}\n`);
    return EXIT.ok;
  }
  const { round, jobs } = found;
  io.stdout.write(
    [
      roundLine(round, jobs.length),
      `  ${round.reason}`,
      ...round.skus.map((s) => `  ${skuCountText(s)}`),
      ...jobs.map(
        (j) =>
          `  ${j.userPrincipalName ?? j.userId}: ${j.job.source} ${j.job.action}; held ${j.actions.map((a) => (a.kind === 'removeLicense' ? `remove ${a.skuPartNumber}` : `${a.kind === 'updateDisabledPlans' ? 'switch plans off in' : a.kind} ${'skuPartNumber' in a ? a.skuPartNumber : ''}`)).join(', ')}`,
      ),
      ...(round.state === 'held' ? [`  ${releaseText(round.id)}`] : []),
    ].join('\n') + '\n',
  );
  return EXIT.ok;
}

function closeMessage(result: CloseResult, id: string, discard: boolean): { code: number; text: string } {
  switch (result.kind) {
    case 'notFound':
      return { code: EXIT.failed, text: `No held round ${id}: \`ems-licensing held\` lists them.` };
    case 'notHeld':
      return { code: EXIT.failed, text: `Round ${id} is ${result.round.state} already: nothing to do.` };
    case 'done':
      return {
        code: EXIT.ok,
        text: discard
          ? `Discarded round ${id}: nothing it held will be made; its ${String(result.jobs)} user(s) are free again (their next change decides afresh).`
          : `Released round ${id}: ${String(result.jobs)} job(s) sent to the queue; the worker makes each change, deciding afresh from what the user holds then.`,
      };
  }
}

export async function runRelease(c: PassContext): Promise<number> {
  const { args, runtime, io, logger } = c;
  const id = args.target ?? '';
  if (!runtime.storageConfigured) {
    io.stderr.write(`${NEEDS_STORAGE}\n`);
    return EXIT.usage;
  }
  const { guard } = await runtime.stores();
  const deps = { store: guard, logger, now: () => new Date() };
  if (args.discard) {
    const done = closeMessage(await discardRound(deps, id), id, true);
    (done.code === EXIT.ok ? io.stdout : io.stderr).write(`${done.text}\n`);
    return done.code;
  }
  const bus = runtime.serviceBus;
  if (bus === null) {
    io.stderr.write(
      "A release sends the held jobs to the app's queue: set ServiceBusConnection__fullyQualifiedNamespace (azd env get-value SERVICE_BUS_NAMESPACE) and LICENSE_JOBS_QUEUE, or ServiceBusConnection locally.\n",
    );
    return EXIT.usage;
  }
  // Loaded here: only a release needs the Service Bus SDK.
  const { ServiceBusJobPublisher } = await import('../queue/service-bus-publisher.js');
  const publisher = ServiceBusJobPublisher.fromConfig(
    bus,
    bus.connectionString === undefined ? runtime.azureCredential() : undefined,
  );
  try {
    const done = closeMessage(await releaseRound({ ...deps, publisher }, id), id, false);
    (done.code === EXIT.ok ? io.stdout : io.stderr).write(`${done.text}\n`);
    return done.code;
  } finally {
    await publisher.close();
  }
}
