/**
 * A run over every user in the tenant (the CLI's `plan` and `apply`): a thin loop over the
 * engine's parts. Users come from the paged `/users` list with the rules' `$select` (one request
 * per 999 users, the next page read while this one is processed); each goes through the same job
 * as the worker's (run-job.ts) with bounded concurrency. Off the hot path: outcome records are
 * written by a writer of their own, and changed users are read back in batches of fifteen.
 *
 * A run finishes or says so. Pending records left by a killed run are completed first; users put
 * off by throttling or an outage are tried again by the run itself; users still not done are
 * listed, with their reason, and the run reports itself incomplete.
 */
import { randomUUID } from 'node:crypto';
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError } from '../graph/graph-error.js';
import type { GraphUser } from '../graph/types.js';
import { OUTCOME_KINDS, type OutcomeKind, type OutcomeRecord } from '../licensing/types.js';
import type { Logger } from '../log.js';
import type { LeaverStore, OutcomeStore } from '../store/ports.js';
import { backoffMs } from './backoff.js';
import { BatchVerifier } from './batch-verifier.js';
import { forEachConcurrent } from './concurrency.js';
import type { Decision } from './decide.js';
import type { LicensingContext } from './licensing-context.js';
import { asGivenUp, type JobFacts, type UserRef } from './outcome-builder.js';
import { prefetched } from './prefetch.js';
import { RecordWriter } from './record-writer.js';
import type { PlannedChange } from './planned-change.js';
import { recoverPending, type RecoverReport } from './recover-pending.js';
import type { ReductionGuard } from './reduction-guard.js';
import type { RetryHint } from './retry-policy.js';
import { runJob, type EndedJob, type LeaverView } from './run-job.js';

export interface ReconcileOptions {
  gateway: GraphGateway;
  context: LicensingContext;
  logger: Logger;
  dryRun: boolean;
  concurrency: number;
  /** Where outcomes are recorded (`apply`); `null` for a dry run that records nothing. */
  outcomes: OutcomeStore | null;
  /** The app's leaver marks, when the run has its storage: a bulk run never licenses leavers again. */
  leavers?: Pick<LeaverStore, 'listLeft'>;
  /** Id shared by every job of this run, for reading one run's story back. */
  runId?: string;
  /** Called once per user as soon as its result is known (progress, `--json` lines). */
  onResult?: (result: UserResult) => void;
  /** Called when a page of users has been read, with the total read so far. */
  onUsersRead?: (count: number) => void;
  pageSize?: number;
  now?: () => Date;
  /** Rounds of in-run retries for users put off by throttling or an outage (default 3). */
  retryRounds?: number;
  /** Base of the backoff between retry rounds (default 2 s); Graph's Retry-After wins when longer. */
  retryBaseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** The run's blast-radius guard (run-guard.ts), asked before any reduction; none for a dry run. */
  guard?: ReductionGuard;
  /**
   * The users to run, page by page, instead of every user of the tenant (a saved plan, a revert:
   * only the users it changes, read fresh).
   */
  users?: AsyncIterable<GraphUser[]>;
  /** The planned change for a user, carried out instead of the rules' own plan (`apply --plan`, `revert`). */
  plannedFor?: (userId: string) => PlannedChange | undefined;
}

/** One user's result as a run reports it. */
export interface UserResult {
  record: OutcomeRecord;
  user: GraphUser | null;
  decision: Decision | null;
}

/** A user the run could not finish, and why. */
export interface NotDone {
  userId: string;
  userPrincipalName: string | null;
  code: string;
  reason: string;
}

export interface ReconcileSummary {
  runId: string;
  users: number;
  /** Write requests sent to Graph (answered or not, refused or not: Graph's budget counts them all). */
  writes: number;
  byOutcome: Record<OutcomeKind, number>;
  /** Planned actions by kind, across users. */
  actions: Record<string, number>;
  /** Pending records of earlier (killed) runs completed before this one started. */
  recovered: RecoverReport | null;
  /** Users put off and still not done when the run ended. */
  notDone: NotDone[];
  /** Why the run stopped before every user was read (Graph failed past its retries), or null. */
  aborted: string | null;
  /** Outcome records that could not be written (storage unavailable). */
  recordsNotWritten: number;
  /** Changed users whose read-back still differs from the rules. */
  notVerified: number;
}

interface Retry {
  ref: UserRef;
  jobId: string;
  attempt: number;
  hint: RetryHint;
  last: OutcomeRecord;
  pending: boolean;
}

const RETRYABLE = new Set<RetryHint['reason']>(['transient', 'storage']);

/** Runs the rules over every user. Never throws for Graph or storage failures: the summary says. */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const run = new Run(options);
  await run.recover();
  await run.firstPass();
  await run.retryPass();
  return run.finish();
}

class Run {
  readonly #o: ReconcileOptions;
  readonly #now: () => Date;
  readonly #startedAt: Date;
  readonly #log: Logger;
  readonly #writer: RecordWriter | null;
  readonly #verifier: BatchVerifier | null;
  readonly summary: ReconcileSummary;
  #retries: Retry[] = [];
  #leavers: LeaverView | null = null;

  constructor(options: ReconcileOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => new Date());
    this.#startedAt = this.#now();
    const runId = options.runId ?? randomUUID();
    this.#log = options.logger.child({ runId });
    this.#writer = options.outcomes && !options.dryRun ? new RecordWriter(options.outcomes) : null;
    const writer = this.#writer;
    this.#verifier = writer
      ? new BatchVerifier({
          gateway: options.gateway,
          context: options.context,
          logger: this.#log,
          now: this.#now,
          correlationId: runId,
          onVerified: (record) => writer.add(record, { clearPending: true }),
        })
      : null;
    this.summary = {
      runId,
      users: 0,
      writes: 0,
      byOutcome: Object.fromEntries(OUTCOME_KINDS.map((k) => [k, 0])) as Record<OutcomeKind, number>,
      actions: {},
      recovered: null,
      notDone: [],
      aborted: null,
      recordsNotWritten: 0,
      notVerified: 0,
    };
  }

  /** Completes what killed runs left pending, then snapshots the leaver marks. */
  async recover(): Promise<void> {
    const { outcomes, dryRun, leavers } = this.#o;
    if (outcomes && !dryRun) {
      this.summary.recovered = await recoverPending(
        { outcomes, gateway: this.#o.gateway, context: this.#o.context, logger: this.#log, now: this.#now },
        { source: 'cli' },
      ).catch((e: unknown) => {
        this.#log.warn({ err: e }, 'could not complete the pending records of earlier runs');
        return null;
      });
    }
    // Read once per run, not once per user: a run's leavers are a snapshot (a leave processed
    // meanwhile marks first and its removal then wins over any later change; see leaver-policy.ts).
    const left = leavers ? await leavers.listLeft() : new Set<string>();
    const at = new Date(0);
    this.#leavers = {
      get: (id) => Promise.resolve(left.has(id) ? { state: 'left', at, statedAt: at } : null),
      set: (_id, mark) => Promise.resolve(mark),
    };
  }

  async firstPass(): Promise<void> {
    const { gateway, context } = this.#o;
    let read = 0;
    const pages = prefetched(
      this.#o.users ??
        gateway.listUsers(context.select, {
          correlationId: this.summary.runId,
          ...(this.#o.pageSize ? { pageSize: this.#o.pageSize } : {}),
        }),
    );
    const onUsersRead = this.#o.onUsersRead;
    async function* users() {
      for await (const page of pages) {
        read += page.length;
        onUsersRead?.(read);
        yield* page;
      }
    }
    try {
      await forEachConcurrent(users(), this.#o.concurrency, (user) =>
        this.#process(user, { jobId: randomUUID(), attempt: 0 }),
      );
    } catch (e) {
      if (!isGraphError(e)) throw e;
      // Listing users failed past the client's retries: the run cannot go on.
      this.summary.aborted = `Reading the users from Graph failed after retries (${e.code || e.kind}: ${e.message}). ${e.fix}`;
      this.#log.error({ kind: e.kind, code: e.code }, 'run stopped: users could not be listed');
    }
  }

  /** Tries users put off by throttling or an outage again, waiting out Graph's Retry-After. */
  async retryPass(): Promise<void> {
    const rounds = this.#o.retryRounds ?? 3;
    const sleep = this.#o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    for (let round = 1; round <= rounds && this.#retries.length > 0; round++) {
      const batch = this.#retries;
      this.#retries = [];
      const afterMs = Math.max(
        ...batch.map((r) => (r.hint.reason === 'transient' ? (r.hint.afterMs ?? 0) : 0)),
        backoffMs(round - 1, this.#o.retryBaseMs ?? 2_000, this.#o.random ?? Math.random),
      );
      this.#log.info(
        { users: batch.length, round, afterMs },
        'trying users put off by throttling or an outage again',
      );
      await sleep(afterMs);
      const last = round === rounds;
      await forEachConcurrent(batch, this.#o.concurrency, (r) =>
        this.#process(r.ref, { jobId: r.jobId, attempt: r.attempt, lastRound: last }),
      );
    }
  }

  async #process(user: GraphUser | UserRef, job: { jobId: string; attempt: number; lastRound?: boolean }) {
    const facts: JobFacts = {
      jobId: job.jobId,
      correlationId: randomUUID(),
      source: 'cli',
      eventId: this.summary.runId,
      acceptedAt: this.#startedAt.toISOString(),
      attempt: job.attempt,
      dryRun: this.#o.dryRun,
      userRef: 'assignedLicenses' in user ? { id: user.id } : user,
      startedAt: this.#now(),
    };
    const planned = user.id === undefined ? undefined : this.#o.plannedFor?.(user.id);
    const result = await runJob(
      { facts, user, action: 'reconcile', eventAt: this.#startedAt, planned },
      {
        gateway: this.#o.gateway,
        context: this.#o.context,
        logger: this.#log,
        now: this.#now,
        journal: this.#writer ? this.#o.outcomes : null,
        // A retry may find the pending record its first try wrote.
        lookUpJob: job.attempt > 0 && this.#writer !== null,
        leavers: this.#leavers,
        readBack: null,
        guard: this.#o.dryRun ? null : (this.#o.guard ?? null),
      },
    );
    if (result.kind === 'duplicate') return;
    this.summary.writes += result.record.writes;
    const hint = result.retry;
    const retryable =
      hint !== null && RETRYABLE.has(hint.reason) && !this.#o.dryRun && job.lastRound !== true;
    if (retryable && (this.#o.retryRounds ?? 3) > 0) {
      const ref = { id: result.user?.id ?? facts.userRef.id };
      if (result.pending && result.keepPending !== true) {
        // A definite refusal: nothing is in flight; the retry starts from what Graph shows.
        await this.#o.outcomes
          ?.withdrawPending(result.record.userId, result.record.acceptedAt, result.record.jobId)
          .catch((e: unknown) => this.#log.warn({ err: e }, 'could not withdraw a pending record'));
      }
      this.#retries.push({
        ref,
        jobId: job.jobId,
        attempt: job.attempt + 1,
        hint,
        last: result.record,
        pending: result.pending && result.keepPending === true,
      });
      return;
    }
    await this.#settle(result, hint, job.attempt);
  }

  async #settle(result: EndedJob, hint: RetryHint | null, attempt: number): Promise<void> {
    let record = result.record;
    if (hint !== null && RETRYABLE.has(hint.reason) && !this.#o.dryRun) {
      record = asGivenUp(record, 'notDone', attempt + 1, hint.reason);
      this.summary.notDone.push({
        userId: record.userId,
        userPrincipalName: record.userPrincipalName,
        code: record.error?.code ?? hint.reason,
        reason: record.error?.message ?? hint.reason,
      });
    }
    this.summary.users++;
    this.summary.byOutcome[record.outcome]++;
    for (const a of result.decision?.plan.actions ?? [])
      this.summary.actions[a.kind] = (this.summary.actions[a.kind] ?? 0) + 1;
    this.#o.onResult?.({ record, user: result.user, decision: result.decision });
    if (result.unverified === true && this.#verifier && result.user && result.decision) {
      await this.#verifier.add({ userId: result.user.id, record, decision: result.decision });
    } else {
      await this.#writer?.add(record, { clearPending: result.pending });
    }
  }

  /** Ends what was still put off, then waits for every read-back and record. */
  async finish(): Promise<ReconcileSummary> {
    for (const r of this.#retries.splice(0)) {
      await this.#settle(
        { kind: 'ended', record: r.last, retry: r.hint, user: null, decision: null, pending: r.pending },
        r.hint,
        r.attempt - 1,
      );
    }
    if (this.#verifier) this.summary.notVerified = (await this.#verifier.drain()).notVerified;
    if (this.#writer) {
      const drained = await this.#writer.drain();
      this.summary.recordsNotWritten = drained.failed.length;
      if (drained.failed.length > 0)
        this.#log.error(
          { err: drained.error, records: drained.failed.length },
          'outcome records could not be written',
        );
    }
    const { users, writes, byOutcome, notDone, aborted } = this.summary;
    this.#log.info({ users, writes, byOutcome, notDone: notDone.length, aborted }, 'reconcile finished');
    return this.summary;
  }
}
