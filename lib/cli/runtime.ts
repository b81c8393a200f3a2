/**
 * The CLI's composition: which Graph (a real tenant, or the bundled sample tenant on loopback when
 * none is configured), which rules file, and which storage (configured, or an embedded Azurite in
 * a local data folder). Everything started here is stopped by `close()`; the embedded Azurite also
 * ends by itself if the CLI is killed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TokenCredential } from '@azure/identity';
import {
  ConfigError,
  loadBaseConfig,
  loadServiceBusConfig,
  type BaseConfig,
  type FunctionsConfig,
} from '../config.js';
import { createGraphClient } from '../graph/client.js';
import { createCredential } from '../graph/credential.js';
import type { GraphGateway } from '../graph/gateway.js';
import { createGraphGateway, graphGatewayFromConfig } from '../graph/graph-gateway.js';
import type { Logger } from '../log.js';
import {
  loadSampleState,
  saveSampleState,
  startSimulator,
  type Simulator,
} from '@ems-licensing/graph-simulator';
import { startLocalStorage } from './local/local-storage.js';
import type { GuardStore, LeaverStore, OutcomeStore, ScheduledHireStore } from '../store/ports.js';
import { createStorage, type Storage } from '../store/table-clients.js';
import type { CliArgs } from './args.js';
import { StorageUnavailableError } from './failure.js';

/** The package root (lib/cli/ and dist/cli/ are both two levels down). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface CliStores {
  outcomes: OutcomeStore;
  /** People an HR leave was carried out for: a reconcile must not license them again. */
  leavers: LeaverStore;
  /** Hires HR scheduled for later (the seat forecast's demand). */
  scheduledHires: ScheduledHireStore;
  /** The Functions app's held rounds (`held`, `release`). */
  guard: GuardStore;
}

export interface CliRuntime {
  config: BaseConfig;
  gateway: GraphGateway;
  rulesPath: string;
  /** True when running against the bundled sample tenant. */
  sample: boolean;
  /** True when storage is configured (not the embedded Azurite). */
  storageConfigured: boolean;
  /** The outcome and leaver stores, started on first use (apply; plan when storage is configured). */
  stores(): Promise<CliStores>;
  /** The app's Service Bus queue (to release a held round), when its settings are given. */
  serviceBus: FunctionsConfig['serviceBus'] | null;
  /** The operator's credential for Azure (storage and Service Bus by identity). */
  azureCredential(): TokenCredential;
  /** Persists the sample tenant (after apply) and stops what was started. */
  close(options?: { persistSample?: boolean }): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** What tests (and only they) replace. */
export interface CliRuntimeOptions {
  /** The credential for a tenant (default: DefaultAzureCredential, or the simulator's on loopback). */
  credential?: TokenCredential;
  /**
   * The folder relative paths are taken from, and where `.local/` (the embedded Azurite's data and
   * the sample tenant's state) is kept; default: the working folder when the runtime is created.
   */
  cwd?: string;
  /** Azurite's entry script, or null as if it were not installed; default: found in node_modules. */
  azuriteEntry?: string | null;
}

/** The tables, created if missing; a store that cannot be reached is one clear error. */
async function readyStorage(storage: Storage, where: string): Promise<Storage> {
  try {
    await storage.ensureTables();
    return storage;
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
    const text = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new StorageUnavailableError(
      `Cannot reach Table storage at ${where} (${text ?? 'no answer'}). Check STORAGE_CONNECTION_STRING or STORAGE_TABLE_ENDPOINT, and for an endpoint your Storage Table Data Contributor role (az login).`,
      { cause: e },
    );
  }
}

/** The table endpoint named by the storage settings, for messages (never the key). */
function storageWhere(config: BaseConfig): string {
  const s = config.storage;
  if (!s) return 'the embedded Azurite';
  if (s.tableEndpoint) return s.tableEndpoint;
  const endpoint = /TableEndpoint=([^;]+)/i.exec(s.connectionString ?? '')?.[1];
  if (endpoint) return endpoint;
  if (/UseDevelopmentStorage=true/i.test(s.connectionString ?? ''))
    return 'the local emulator (UseDevelopmentStorage=true)';
  const account = /AccountName=([^;]+)/i.exec(s.connectionString ?? '')?.[1];
  return account ? `account ${account}` : 'the account in STORAGE_CONNECTION_STRING';
}

export async function createCliRuntime(
  args: CliArgs,
  env: Env,
  notice: (line: string) => void,
  logger: Logger,
  options: CliRuntimeOptions = {},
): Promise<CliRuntime> {
  const cwd = options.cwd ?? process.cwd();
  const relative = (p: string) => path.relative(cwd, p) || p;
  /** Local state when nothing is configured: Azurite data and the sample tenant. */
  const localDir = path.join(cwd, '.local');
  const tenantConfigured = Boolean(args.graphUrl ?? env.GRAPH_BASE_URL ?? env.AZURE_TENANT_ID);
  let simulator: Simulator | null = null;
  const sampleStatePath = path.join(localDir, 'sample-tenant.json');
  let graphUrl = args.graphUrl ?? env.GRAPH_BASE_URL;
  if (!tenantConfigured) {
    const { tenant, fromSaved } = await loadSampleState(sampleStatePath, { reset: args.resetSample });
    simulator = await startSimulator({ tenant });
    graphUrl = simulator.url;
    notice(
      `No tenant configured (GRAPH_BASE_URL, --graph-url, AZURE_TENANT_ID): using the bundled sample tenant (${String(tenant.users.length)} users) on ${simulator.url}` +
        (fromSaved
          ? `, as left by the last apply (${relative(sampleStatePath)}; --reset-sample to start over).`
          : '.'),
    );
  }
  const config = loadBaseConfig({ ...env, ...(graphUrl ? { GRAPH_BASE_URL: graphUrl } : {}) });
  const gateway = options.credential
    ? createGraphGateway({
        client: createGraphClient({
          baseUrl: config.graph.baseUrl,
          credential: options.credential,
          maxRetries: config.graph.maxRetries,
          logger,
        }),
        logger,
        baseUrl: config.graph.baseUrl,
      })
    : graphGatewayFromConfig(config, logger);

  let rulesPath = path.resolve(cwd, args.rules ?? config.rulesPath);
  // import-gbl writes rules rather than reading them.
  if (
    !args.rules &&
    !env.RULES_PATH &&
    !existsSync(rulesPath) &&
    simulator &&
    args.command !== 'import-gbl'
  ) {
    rulesPath = path.join(PACKAGE_ROOT, 'examples', 'rules.yaml');
    notice(`No rules file given: using ${relative(rulesPath)}.`);
  }

  let azure: TokenCredential | null = null;
  const azureCredential = (): TokenCredential => {
    azure ??= createCredential({
      managedIdentityClientId: config.managedIdentityClientId,
      simulator: false,
      tenantId: config.tenantId,
    });
    return azure;
  };
  let store: Promise<CliStores & { stop: () => Promise<void> }> | null = null;
  const stores = async (): Promise<CliStores> => {
    store ??= (async () => {
      if (config.storage) {
        const storage = await readyStorage(
          createStorage(config.storage, azureCredential()),
          storageWhere(config),
        );
        return {
          outcomes: storage.outcomes,
          leavers: storage.leavers,
          scheduledHires: storage.scheduledHires,
          guard: storage.guard,
          stop: () => Promise.resolve(),
        };
      }
      const dataDir = path.join(localDir, 'azurite');
      let local;
      try {
        local = await startLocalStorage(dataDir, {
          notice,
          ...(options.azuriteEntry === undefined ? {} : { azuriteEntry: options.azuriteEntry }),
        });
      } catch (e) {
        // Azurite not installed, or the folder in use by a live run: a ConfigError that says what to do.
        if (e instanceof ConfigError) throw e;
        throw new StorageUnavailableError(
          `No storage is configured and the embedded Azurite did not start (${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)}). Set STORAGE_CONNECTION_STRING (or STORAGE_TABLE_ENDPOINT), or run npm install in the ems-licensing folder.`,
          { cause: e },
        );
      }
      notice(
        `No storage configured (STORAGE_CONNECTION_STRING): recording outcomes in a local Azurite, data in ${relative(dataDir)}.`,
      );
      const storage = await readyStorage(
        createStorage({ connectionString: local.connectionString, tablePrefix: '' }),
        'the embedded Azurite',
      );
      const running = local;
      return {
        outcomes: storage.outcomes,
        leavers: storage.leavers,
        scheduledHires: storage.scheduledHires,
        guard: storage.guard,
        stop: () => running.stop(),
      };
    })();
    return store;
  };

  return {
    config,
    gateway,
    rulesPath,
    sample: simulator !== null,
    storageConfigured: config.storage !== null,
    stores,
    serviceBus: loadServiceBusConfig(env),
    azureCredential,
    close: async (options = {}) => {
      if (simulator) {
        if (options.persistSample) await saveSampleState(sampleStatePath, simulator);
        await simulator.close();
      }
      // A store that failed to start (Azurite missing) has nothing to stop; its error was reported.
      const started = await store?.catch(() => null);
      await started?.stop();
    },
  };
}
