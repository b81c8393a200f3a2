/**
 * The app's use cases, assembled once per process from the composition root's parts: each one is
 * a function of its input and the invocation's logger. The trigger adapters (lib/functions/) only
 * parse their input, call one of these and map the result; none of them assembles dependencies.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { FunctionsConfig } from './config.js';
import { runCleanup, type CleanupReport } from './engine/cleanup.js';
import { deltaCatchUp, type DeltaCatchUpResult } from './engine/delta-catchup.js';
import type { LicensingContextCache } from './engine/licensing-context.js';
import { WorkerGuard } from './engine/worker-guard.js';
import { handleReauthorization, keepSubscription, type KeeperResult } from './engine/subscription-keeper.js';
import { runLicenseJob, type DeliveryInfo, type WorkerResult } from './engine/worker.js';
import type { GraphGateway } from './graph/gateway.js';
import type { Logger } from './log.js';
import { cleanupSeatForecast } from './reports/seat-report.js';
import type { JobPublisher } from './queue/job.js';
import type { Storage } from './store/table-clients.js';

/** Setting name that holds the clientState; stored with the subscription instead of the secret. */
export const CLIENT_STATE_SETTING = 'GRAPH_CLIENT_STATE';

/** The subscription's upkeep: needs Graph and the subscriptions table only. */
export interface KeeperUseCases {
  keepSubscription(logger: Logger): Promise<KeeperResult>;
  /** A `reauthorizationRequired` lifecycle event for one of the app's subscriptions. */
  reauthorize(subscriptionId: string, logger: Logger): Promise<KeeperResult>;
}

export interface UseCases extends KeeperUseCases {
  /** One queue message: one job for one user. */
  runLicenseJob(body: unknown, delivery: DeliveryInfo, logger: Logger): Promise<WorkerResult>;
  catchUpDelta(logger: Logger): Promise<DeltaCatchUpResult>;
  cleanUp(logger: Logger): Promise<CleanupReport>;
}

export interface UseCaseParts {
  config: FunctionsConfig;
  now: () => Date;
  gateway: GraphGateway;
  storage: Storage;
  publisher: JobPublisher;
  contexts: LicensingContextCache;
  credential?: TokenCredential;
}

/** The keeper's use cases over Graph and the subscriptions table. */
export function createKeeperUseCases(
  parts: Pick<UseCaseParts, 'config' | 'now' | 'gateway' | 'storage'>,
): KeeperUseCases {
  const { config, now, gateway, storage } = parts;
  const keeper = (logger: Logger) => ({
    gateway,
    store: storage.subscriptions,
    notificationUrl: config.notificationUrl,
    clientState: config.clientState,
    clientStateRef: CLIENT_STATE_SETTING,
    logger,
    now,
  });
  return {
    keepSubscription: (logger) => keepSubscription(keeper(logger)),
    reauthorize: (subscriptionId, logger) => handleReauthorization(subscriptionId, keeper(logger)),
  };
}

/** Builds the use cases over parts built once. */
export function createUseCases(parts: UseCaseParts): UseCases {
  const { config, now, gateway, storage, publisher, contexts } = parts;
  // The blast-radius guard: the worker counts the jobs no producer counted (HR, notifications);
  // the delta round and the cleanup count their own rounds before publishing them.
  const guard = { store: storage.guard, settings: config.guard };
  return {
    ...createKeeperUseCases(parts),
    runLicenseJob: (body, delivery, logger) =>
      runLicenseJob(body, delivery, {
        gateway,
        contexts,
        outcomes: storage.outcomes,
        leavers: storage.leavers,
        publisher,
        logger,
        now,
        settings: config.retry,
        guard: new WorkerGuard({ ...guard, logger, now }),
      }),
    catchUpDelta: (logger) =>
      deltaCatchUp({ gateway, checkpoints: storage.checkpoints, publisher, contexts, logger, now, guard }),
    cleanUp: (logger) =>
      runCleanup({
        gateway,
        contexts,
        outcomes: storage.outcomes,
        inbox: storage.inbox,
        disabled: storage.disabledAccounts,
        publisher,
        summaries: storage.summaries,
        logger,
        now,
        guard,
        settings: {
          disabledReclaimDays: config.disabledReclaimDays,
          outcomeRetentionDays: config.outcomeRetentionDays,
        },
        seatForecast: cleanupSeatForecast({
          gateway,
          logger,
          outcomes: storage.outcomes,
          hires: storage.scheduledHires,
          leavers: storage.leavers,
        }),
      }),
  };
}
