/**
 * Lists, and with --apply re-sends, the dead-lettered license jobs of the Service Bus queue.
 *
 *   npx tsx scripts/replay-dead-letters.ts                     # dry run: peek and list
 *   npx tsx scripts/replay-dead-letters.ts --apply --max 50    # re-send up to 50, then complete them
 *
 * Options: --namespace <fqdn> (default: ServiceBusConnection__fullyQualifiedNamespace, else
 * SERVICE_BUS_NAMESPACE from `azd env get-values`), --queue <name> (default: LICENSE_JOBS_QUEUE,
 * else license-jobs), --reason <text> (only messages whose dead-letter reason contains it),
 * --max <n> (default 100).
 *
 * Signs in with DefaultAzureCredential (`az login`); needs Azure Service Bus Data Receiver and
 * Data Sender on the namespace (the azd deployer gets both). The copy keeps the body, the session
 * (the user) and the properties, and gets a new MessageId so duplicate detection cannot drop it;
 * the dead-lettered original is completed only after the copy is sent (a failure in between gives
 * a duplicate job, which the worker handles: it reads the user's current state).
 */
import { parseArgs } from 'node:util';
import { DefaultAzureCredential } from '@azure/identity';
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusReceivedMessage } from '@azure/service-bus';
import { azdValue } from '../lib/deploy/azd-env.js';

const { values: args } = parseArgs({
  options: {
    apply: { type: 'boolean', default: false },
    namespace: { type: 'string' },
    queue: { type: 'string' },
    reason: { type: 'string' },
    max: { type: 'string', default: '100' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'Usage: npx tsx scripts/replay-dead-letters.ts [--apply] [--namespace FQDN] [--queue NAME] [--reason TEXT] [--max N]',
  );
  process.exit(0);
}

const max = Number(args.max);
if (!Number.isInteger(max) || max < 1) {
  console.error('--max must be a positive integer');
  process.exit(2);
}

function matches(m: ServiceBusReceivedMessage): boolean {
  return (
    args.reason === undefined || (m.deadLetterReason ?? '').toLowerCase().includes(args.reason.toLowerCase())
  );
}

/** One line per message: ids, why it was dead-lettered, and which job it carries. */
function describe(m: ServiceBusReceivedMessage): string {
  const body: unknown = m.body;
  const job = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '?');
  const user = job?.['user'];
  const userId =
    typeof user === 'object' && user !== null ? (user as Record<string, unknown>)['id'] : undefined;
  const jobText = job
    ? `job ${text(job['source'])}/${text(job['action'])} attempt ${text(job['attempt'])} user ${userId === undefined ? '(by upn or employeeId)' : text(userId)}`
    : 'body is not a JSON job';
  const enqueued = m.enqueuedTimeUtc?.toISOString() ?? '?';
  return `#${String(m.sequenceNumber)} ${enqueued} session=${m.sessionId ?? '-'} deliveries=${m.deliveryCount ?? 0} reason="${m.deadLetterReason ?? ''}" ${m.deadLetterErrorDescription ? `(${m.deadLetterErrorDescription}) ` : ''}${jobText}`;
}

function replayCopy(m: ServiceBusReceivedMessage): ServiceBusMessage {
  const original = String(m.messageId ?? m.sequenceNumber);
  const body: unknown = m.body;
  return {
    body,
    messageId: `${original.slice(0, 96)}-replay-${Date.now().toString(36)}`,
    ...(m.sessionId === undefined ? {} : { sessionId: m.sessionId }),
    ...(m.contentType === undefined ? {} : { contentType: m.contentType }),
    ...(m.subject === undefined ? {} : { subject: m.subject }),
    ...(m.correlationId === undefined ? {} : { correlationId: m.correlationId }),
    applicationProperties: {
      ...m.applicationProperties,
      replayedFrom: original,
      replayedDeadLetterReason: m.deadLetterReason ?? '',
    },
  };
}

async function main(): Promise<void> {
  const namespace =
    args.namespace ??
    process.env.ServiceBusConnection__fullyQualifiedNamespace ??
    (await azdValue('SERVICE_BUS_NAMESPACE'));
  if (!namespace) {
    throw new Error(
      'No namespace: pass --namespace <name>.servicebus.windows.net (or run from the azd project after azd up)',
    );
  }
  const queue = args.queue ?? process.env.LICENSE_JOBS_QUEUE ?? 'license-jobs';
  const client = new ServiceBusClient(namespace, new DefaultAzureCredential());
  // The dead-letter subqueue is not session-enabled, even when its queue is.
  const receiver = client.createReceiver(queue, { subQueueType: 'deadLetter', receiveMode: 'peekLock' });
  const sender = client.createSender(queue);
  try {
    console.log(
      `Dead letters of ${namespace}/${queue}${args.reason ? ` with reason containing "${args.reason}"` : ''}:`,
    );
    if (!args.apply) {
      let seen = 0;
      let listed = 0;
      while (listed < max) {
        const page = await receiver.peekMessages(Math.min(100, max - listed));
        if (page.length === 0) break;
        seen += page.length;
        for (const m of page.filter(matches).slice(0, max - listed)) {
          console.log(`  ${describe(m)}`);
          listed += 1;
        }
      }
      console.log(`Dry run: ${listed} listed (${seen} peeked). Run again with --apply to re-send them.`);
      return;
    }
    let replayed = 0;
    // Non-matching messages stay locked by this receiver until the end, so the next receive moves
    // past them; then they go back to the dead-letter queue untouched.
    const held: ServiceBusReceivedMessage[] = [];
    try {
      while (replayed < max && held.length < 1_000) {
        const batch = await receiver.receiveMessages(Math.min(50, max - replayed), {
          maxWaitTimeInMs: 5_000,
        });
        if (batch.length === 0) break;
        for (const m of batch) {
          if (!matches(m) || replayed >= max) {
            held.push(m);
            continue;
          }
          await sender.sendMessages(replayCopy(m));
          await receiver.completeMessage(m);
          replayed += 1;
          console.log(`  re-sent ${describe(m)}`);
        }
      }
    } finally {
      for (const m of held) await receiver.abandonMessage(m);
    }
    console.log(`Re-sent ${replayed} message(s); ${held.length} others left in the dead-letter queue.`);
  } finally {
    await receiver.close();
    await sender.close();
    await client.close();
  }
}

try {
  await main();
} catch (e) {
  console.error(`replay-dead-letters: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
