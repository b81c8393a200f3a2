/**
 * The composition root of the Functions app: settings parsed once, every client built once, per
 * worker process, on first use. Each part is loaded lazily (dynamic import) so a function pays only
 * for the SDKs it touches: the HR intake never loads the Graph client, the timers never load the
 * intake code. Nothing else builds SDK clients or reads settings.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenCredential } from '@azure/core-auth';
import { loadFunctionsConfig, type FunctionsConfig } from './config.js';
import type { LicensingContextCache } from './engine/licensing-context.js';
import type { GraphGateway } from './graph/gateway.js';
import { createLogger, type Logger } from './log.js';
import type { JobPublisher } from './queue/job.js';
import type { CreateStorageOptions, Storage } from './store/table-clients.js';
import type { KeeperUseCases, UseCases } from './use-cases.js';

export interface AppParts {
  config: FunctionsConfig;
  logger: Logger;
  /** The app's clock: every handler reads the time here (tests inject one; STYLE.md principle 9). */
  now: () => Date;
  credential(): Promise<TokenCredential>;
  gateway(): Promise<GraphGateway>;
  /** For the worker and timers: the SDK's default retries. */
  storage(): Promise<Storage>;
  /**
   * For the HTTP intake: the same tables with one short retry, so a failing Table endpoint still
   * answers 5xx inside Graph's 3 s (the handlers also cap the whole exchange, see `intake-exchange.ts`).
   */
  intakeStorage(): Promise<Storage>;
  /** For the worker and timers: the SDK's default retries. */
  publisher(): Promise<JobPublisher>;
  /** For the HTTP intake: few, short retries, so a failure still answers 5xx inside Graph's 3 s. */
  intakePublisher(): Promise<JobPublisher>;
  contexts(): Promise<LicensingContextCache>;
  /** The worker's and timers' use cases, ready (built once, on first use). */
  useCases(): Promise<UseCases>;
  /** The subscription keeper alone (Graph and tables only), for the intake's lifecycle events. */
  keeper(): Promise<KeeperUseCases>;
}

/**
 * The app root (where host.json and rules.yaml are deployed): lib/ and dist/functions/ both sit
 * one level below it once bundled, so a relative RULES_PATH never depends on the working folder.
 */
const APP_ROOT = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  import.meta.url.includes('/dist/') ? '../..' : '..',
);

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => {
    p ??= make().catch((e: unknown) => {
      // A failed start (Azure outage at cold start) must not poison the instance for good.
      p = null;
      throw e;
    });
    return p;
  };
}

/** What tests may inject beyond the environment. */
export interface AppPartsOptions {
  /** The clock handlers use (intake, worker, timers); default `() => new Date()`. */
  now?: () => Date;
}

/**
 * Builds the app's parts from an environment. The config is parsed here, synchronously, so a bad
 * setting fails the first invocation with the setting's name and the fix.
 */
export function createAppParts(
  env: Record<string, string | undefined>,
  logger?: Logger,
  options: AppPartsOptions = {},
): AppParts {
  const config = loadFunctionsConfig(env);
  const log = logger ?? createLogger({ level: config.logLevel });
  const now = options.now ?? (() => new Date());

  const credential = once(async () => {
    const { createCredential } = await import('./graph/credential.js');
    return createCredential({ managedIdentityClientId: config.managedIdentityClientId, simulator: false });
  });
  const gateway = once(async () => {
    const { graphGatewayFromConfig } = await import('./graph/graph-gateway.js');
    return graphGatewayFromConfig(config, log);
  });
  const makeStorage = async (retryOptions?: CreateStorageOptions['retryOptions']) => {
    const { createStorage } = await import('./store/table-clients.js');
    const s = createStorage(
      config.storage,
      config.storage.connectionString ? undefined : await credential(),
      {
        summaryContainer: config.summaryContainer,
        ...(retryOptions ? { retryOptions } : {}),
      },
    );
    await s.ensureTables();
    return s;
  };
  // Every outcome the worker records is also logged (`outcome recorded`), for Azure Monitor.
  const storage = once(async () => {
    const [s, { withOutcomeLog }] = await Promise.all([
      makeStorage(),
      import('./store/logged-outcome-store.js'),
    ]);
    return { ...s, outcomes: withOutcomeLog(s.outcomes, log) };
  });
  const intakeStorage = once(() =>
    makeStorage({ maxRetries: 1, retryDelayInMs: 100, maxRetryDelayInMs: 200 }),
  );
  const makePublisher = async (retryOptions?: {
    maxRetries: number;
    retryDelayInMs: number;
    timeoutInMs: number;
  }) => {
    const { ServiceBusJobPublisher } = await import('./queue/service-bus-publisher.js');
    return ServiceBusJobPublisher.fromConfig(
      config.serviceBus,
      config.serviceBus.connectionString ? undefined : await credential(),
      retryOptions ? { clientOptions: { retryOptions } } : {},
    );
  };
  const publisher = once(() => makePublisher());
  const intakePublisher = once(() =>
    makePublisher({ maxRetries: 1, retryDelayInMs: 100, timeoutInMs: 1_200 }),
  );
  const contexts = once(async () => {
    const [{ loadRulesFile }, { LicensingContextCache, loadLicensingContext }, { logSeats }] =
      await Promise.all([
        import('./rules/load.js'),
        import('./engine/licensing-context.js'),
        import('./reports/seat-log.js'),
      ]);
    // The rules file is read once per instance; a bad file fails here with file:line and the fix.
    const rules = await loadRulesFile(path.resolve(APP_ROOT, config.rulesPath));
    const g = await gateway();
    // Each catalog read logs the seats of the managed SKUs (`seats read`), for Azure Monitor.
    const load = async () => {
      const ctx = await loadLicensingContext(g, rules, { now });
      logSeats(log, ctx);
      return ctx;
    };
    const cache = new LicensingContextCache(load, {
      now,
      // The error itself, not its message: pino's serializer keeps the stack and the cause chain
      // (the Graph error under the context's own), which is what an operator needs to act.
      onReloadError: (e) => log.warn({ err: e }, 'catalog reload failed; using the last one'),
    });
    // The catalog is read on first use, inside the worker, which keeps the job if Graph is
    // unavailable at a cold start (the rules file itself is checked at start-up).
    return cache;
  });
  const useCases = once(async () => {
    const [{ createUseCases }, g, s, p, c] = await Promise.all([
      import('./use-cases.js'),
      gateway(),
      storage(),
      publisher(),
      contexts(),
    ]);
    return createUseCases({ config, now, gateway: g, storage: s, publisher: p, contexts: c });
  });
  const keeper = once(async () => {
    const [{ createKeeperUseCases }, g, s] = await Promise.all([
      import('./use-cases.js'),
      gateway(),
      storage(),
    ]);
    return createKeeperUseCases({ config, now, gateway: g, storage: s });
  });
  return {
    config,
    logger: log,
    now,
    credential,
    gateway,
    storage,
    intakeStorage,
    publisher,
    intakePublisher,
    contexts,
    useCases,
    keeper,
  };
}

let shared: AppParts | null = null;

/** The process-wide parts, built from the Function App's settings on first use. */
export function appParts(): AppParts {
  // The composition root is the one place the app's settings enter (STYLE.md principle 2).
  // eslint-disable-next-line no-restricted-properties
  shared ??= createAppParts(process.env);
  return shared;
}
