/**
 * Carrying out a plan against Graph: seats first, then the usage location, then one assignLicense
 * with every license change (a SKU swap is atomic). A write whose answer is unknown (a 5xx, a
 * timeout, a connection broken after the request went out: "applied, but the response was lost")
 * is never sent again blind: the user is read again and only what is still missing is sent.
 */
import type { GraphGateway } from '../graph/gateway.js';
import { isGraphError, type GraphError } from '../graph/graph-error.js';
import type { AssignLicenseBody, GraphUser } from '../graph/types.js';
import type { LicensePlan, PlanAction } from '../licensing/types.js';
import type { Logger } from '../log.js';
import { actionsInEffect } from './actions-in-effect.js';
import type { SeatLedger } from './seat-ledger.js';

export interface ApplyDeps {
  gateway: GraphGateway;
  seats: SeatLedger;
  /** Reads the user again, as the job reads it (after a write whose answer was lost). */
  reread: () => Promise<GraphUser | null>;
  correlationId: string;
  log: Logger;
  /** Sends of a still-missing change after a lost answer (default 1). */
  maxResends?: number;
}

export type ApplyResult =
  | {
      kind: 'applied';
      applied: PlanAction[];
      /** Write requests sent, answered or not. */
      writes: number;
      /** The user as last read while checking a lost answer (null when no read was needed). */
      lastRead: GraphUser | null;
    }
  /** No seat left in this process's ledger: nothing was sent. */
  | { kind: 'noSeat'; skuPartNumber: string }
  | {
      kind: 'failed';
      error: GraphError;
      /** Actions known to have taken effect before the failure. */
      applied: PlanAction[];
      writes: number;
      /** The SKU Graph said is out of seats, when that is the failure. */
      seatSku: string | null;
    };

type Adds = Extract<PlanAction, { kind: 'addLicense' }>;

/**
 * Answers to a resent write that mean the first send took effect after all (Graph's replicas can
 * lag the re-read): accepted only once a further read confirms the state.
 */
const ALREADY_DONE = /does not have a corresponding license|already assigned|already has/i;

function bodyOf(actions: readonly PlanAction[]): AssignLicenseBody {
  const body: AssignLicenseBody = { addLicenses: [], removeLicenses: [] };
  for (const a of actions) {
    if (a.kind === 'addLicense')
      body.addLicenses.push({ skuId: a.skuId, disabledPlans: [...a.disabledPlans] });
    else if (a.kind === 'updateDisabledPlans')
      body.addLicenses.push({ skuId: a.skuId, disabledPlans: [...a.after] });
    else if (a.kind === 'removeLicense') body.removeLicenses.push(a.skuId);
  }
  return body;
}

type WriteOutcome =
  { ok: true; writes: number; read: GraphUser | null } | { ok: false; error: GraphError; writes: number };

/**
 * Sends one write and makes sure of its effect. On an unknown outcome (or, after a resend, an
 * "already done" refusal) it reads the user again: done if every action holds; otherwise it
 * resends only the missing actions, up to `maxResends` times.
 */
async function writeChecked(
  actions: readonly PlanAction[],
  send: (actions: readonly PlanAction[]) => Promise<unknown>,
  deps: ApplyDeps,
): Promise<WriteOutcome> {
  let pending = actions;
  let writes = 0;
  let read: GraphUser | null = null;
  for (let round = 0; ; round++) {
    writes++;
    try {
      await send(pending);
      return { ok: true, writes, read };
    } catch (e) {
      if (!isGraphError(e)) throw e;
      const doneAfterLoss = round > 0 && e.status === 400 && ALREADY_DONE.test(e.message);
      if (!e.outcomeUnknown && !doneAfterLoss) return { ok: false, error: e, writes };
      deps.log.warn(
        { kind: e.kind, status: e.status, round },
        'write outcome unknown; reading the user again',
      );
      try {
        read = await deps.reread();
      } catch (readError) {
        if (!isGraphError(readError)) throw readError;
        // Still unknown: the job is tried again and its pending record is checked then.
        return { ok: false, error: e.asOutcomeUnknown(), writes };
      }
      if (read === null) return { ok: false, error: e, writes };
      const effect = actionsInEffect(read, pending);
      if (effect.state === 'all') return { ok: true, writes, read };
      if (round >= (deps.maxResends ?? 1)) return { ok: false, error: e.asOutcomeUnknown(), writes };
      pending = effect.missing;
    }
  }
}

/** Reserves a seat for every add; on a shortage releases what it took and names the SKU. */
function reserveSeats(adds: readonly Adds[], seats: SeatLedger): { ok: true } | { ok: false; sku: string } {
  const taken: string[] = [];
  for (const add of adds) {
    if (!seats.reserve(add.skuId)) {
      for (const skuId of taken) seats.release(skuId);
      return { ok: false, sku: add.skuPartNumber };
    }
    taken.push(add.skuId);
  }
  return { ok: true };
}

/** Applies a plan that may run now (no deferral, not blocked) to the user as read. */
export async function applyPlan(user: GraphUser, plan: LicensePlan, deps: ApplyDeps): Promise<ApplyResult> {
  const adds = plan.actions.filter((a): a is Adds => a.kind === 'addLicense');
  const seats = reserveSeats(adds, deps.seats);
  if (!seats.ok) return { kind: 'noSeat', skuPartNumber: seats.sku };

  const opts = { correlationId: deps.correlationId };
  const applied: PlanAction[] = [];
  let writes = 0;
  let lastRead: GraphUser | null = null;
  const steps: { actions: PlanAction[]; send: (a: readonly PlanAction[]) => Promise<unknown> }[] = [
    ...plan.actions
      .filter((a) => a.kind === 'setUsageLocation')
      .map((a) => ({
        actions: [a],
        send: () => deps.gateway.setUsageLocation(user.id, a.to, opts),
      })),
  ];
  const licenseActions = plan.actions.filter((a) => a.kind !== 'setUsageLocation');
  if (licenseActions.length > 0) {
    steps.push({
      actions: licenseActions,
      send: (a) => deps.gateway.assignLicense(user.id, bodyOf(a), opts),
    });
  }
  for (const step of steps) {
    const outcome = await writeChecked(step.actions, step.send, deps);
    writes += outcome.writes;
    if (!outcome.ok) return failed(outcome.error, adds, applied, writes, deps.seats);
    applied.push(...step.actions);
    lastRead = outcome.read ?? lastRead;
  }
  return { kind: 'applied', applied, writes, lastRead };
}

function failed(
  error: GraphError,
  adds: readonly Adds[],
  applied: PlanAction[],
  writes: number,
  seats: SeatLedger,
): ApplyResult {
  // An add that may have been applied keeps its seat; one Graph refused gives it back.
  if (!error.outcomeUnknown) for (const add of adds) seats.release(add.skuId);
  let seatSku: string | null = null;
  if (error.kind === 'seatsExhausted') {
    // Graph's message names the SKU ("Subscription with SKU {skuId} does not have any available licenses.").
    const message = error.message.toLowerCase();
    const full = adds.find((a) => message.includes(a.skuId.toLowerCase())) ?? adds[0];
    if (full) seats.markExhausted(full.skuId);
    seatSku = full?.skuPartNumber ?? null;
  }
  return { kind: 'failed', error, applied, writes, seatSku };
}
