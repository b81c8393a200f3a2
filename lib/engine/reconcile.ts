/**
 * Reconciles every user in the tenant (the CLI's `plan` and `apply`): reads users through the paged
 * list with the rules' `$select` (one request per page, never one GET per user) and processes them
 * with bounded concurrency.
 */
import { randomUUID } from 'node:crypto';
import type { GraphGateway } from '../graph/gateway.js';
import { OUTCOME_KINDS, type OutcomeKind } from '../licensing/types.js';
import type { Logger } from '../log.js';
import type { LeaverStore, OutcomeStore } from '../store/ports.js';
import { forEachConcurrent } from './concurrency.js';
import type { LicensingContext } from './licensing-context.js';
import { processUser, type ProcessUserResult } from './process-user.js';

export interface ReconcileOptions {
  gateway: GraphGateway;
  context: LicensingContext;
  logger: Logger;
  dryRun: boolean;
  concurrency: number;
  /** Where outcomes are recorded (`apply`); `null` for a dry run that records nothing. */
  outcomes: OutcomeStore | null;
  /** The app's leaver marks, when the run has its storage: a bulk run never licenses leavers again. */
  leavers?: Pick<LeaverStore, 'has'>;
  /** Id shared by every job of this run, for reading one run's story back. */
  runId?: string;
  /** Called once per user as soon as it is done (progress, `--json` lines). */
  onResult?: (result: ProcessUserResult) => void;
  /** Called when a page of users has been read, with the total read so far. */
  onUsersRead?: (count: number) => void;
  pageSize?: number;
  now?: () => Date;
}

export interface ReconcileSummary {
  runId: string;
  users: number;
  writes: number;
  byOutcome: Record<OutcomeKind, number>;
  /** Planned actions by kind, across users. */
  actions: Record<string, number>;
}

/** Runs the rules over every user. Throws only if listing users fails outright. */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const runId = options.runId ?? randomUUID();
  const byOutcome = Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>;
  const actions: Record<string, number> = {};
  let users = 0;
  let writes = 0;
  let read = 0;
  const log = options.logger.child({ runId });

  const { gateway, context } = options;
  async function* allUsers() {
    for await (const page of gateway.listUsers(context.select, {
      correlationId: runId,
      ...(options.pageSize ? { pageSize: options.pageSize } : {}),
    })) {
      read += page.length;
      options.onUsersRead?.(read);
      yield* page;
    }
  }

  await forEachConcurrent(allUsers(), options.concurrency, async (user) => {
    const result = await processUser(
      {
        user,
        action: 'reconcile',
        source: 'cli',
        eventId: runId,
        jobId: randomUUID(),
        correlationId: randomUUID(),
        dryRun: options.dryRun,
      },
      {
        gateway,
        context,
        logger: log,
        ...(options.leavers ? { leavers: options.leavers } : {}),
        ...(options.now ? { now: options.now } : {}),
      },
    );
    if (options.outcomes) await options.outcomes.record(result.record);
    users++;
    writes += result.writes;
    byOutcome[result.record.outcome]++;
    for (const a of result.plan?.actions ?? []) actions[a.kind] = (actions[a.kind] ?? 0) + 1;
    options.onResult?.(result);
  });
  log.info({ users, writes, byOutcome }, 'reconcile finished');
  return { runId, users, writes, byOutcome, actions };
}
