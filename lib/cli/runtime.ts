/**
 * The CLI's composition: which Graph (a real tenant, or the bundled sample tenant on loopback when
 * none is configured), which rules file, and which storage (configured, or an embedded Azurite in
 * a local data folder). Everything started here is stopped by `close()`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBaseConfig, type BaseConfig } from '../config.js';
import { createCredential } from '../graph/credential.js';
import type { GraphGateway } from '../graph/gateway.js';
import { graphGatewayFromConfig } from '../graph/graph-gateway.js';
import type { Logger } from '../log.js';
import {
  loadSampleState,
  saveSampleState,
  startSimulator,
  type Simulator,
} from '@ems-licensing/graph-simulator';
import { startLocalStorage } from './local/local-storage.js';
import type { LeaverStore, OutcomeStore } from '../store/ports.js';
import { createStorage } from '../store/table-clients.js';
import type { CliArgs } from './args.js';

/** The package root (lib/cli/ and dist/cli/ are both two levels down). */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the CLI keeps local state when nothing is configured: Azurite data and the sample tenant. */
export const LOCAL_DIR = path.join(process.cwd(), '.local');

export interface CliStores {
  outcomes: OutcomeStore;
  /** People an HR leave was carried out for: a reconcile must not license them again. */
  leavers: LeaverStore;
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
  /** Persists the sample tenant (after apply) and stops what was started. */
  close(options?: { persistSample?: boolean }): Promise<void>;
}

type Env = Record<string, string | undefined>;

export async function createCliRuntime(
  args: CliArgs,
  env: Env,
  notice: (line: string) => void,
  logger: Logger,
): Promise<CliRuntime> {
  const tenantConfigured = Boolean(args.graphUrl ?? env.GRAPH_BASE_URL ?? env.AZURE_TENANT_ID);
  let simulator: Simulator | null = null;
  const sampleStatePath = path.join(LOCAL_DIR, 'sample-tenant.json');
  let graphUrl = args.graphUrl ?? env.GRAPH_BASE_URL;
  if (!tenantConfigured) {
    const { tenant, fromSaved } = await loadSampleState(sampleStatePath, { reset: args.resetSample });
    simulator = await startSimulator({ tenant });
    graphUrl = simulator.url;
    notice(
      `No tenant configured (GRAPH_BASE_URL, --graph-url, AZURE_TENANT_ID): using the bundled sample tenant (${String(tenant.users.length)} users) on ${simulator.url}` +
        (fromSaved
          ? `, as left by the last apply (${path.relative(process.cwd(), sampleStatePath)}; --reset-sample to start over).`
          : '.'),
    );
  }
  const config = loadBaseConfig({ ...env, ...(graphUrl ? { GRAPH_BASE_URL: graphUrl } : {}) });
  const gateway = graphGatewayFromConfig(config, logger);

  let rulesPath = path.resolve(args.rules ?? config.rulesPath);
  // import-gbl writes rules rather than reading them.
  if (
    !args.rules &&
    !env.RULES_PATH &&
    !existsSync(rulesPath) &&
    simulator &&
    args.command !== 'import-gbl'
  ) {
    rulesPath = path.join(PACKAGE_ROOT, 'examples', 'rules.yaml');
    notice(`No rules file given: using ${path.relative(process.cwd(), rulesPath) || rulesPath}.`);
  }

  let store: Promise<CliStores & { stop: () => Promise<void> }> | null = null;
  const stores = async (): Promise<CliStores> => {
    store ??= (async () => {
      if (config.storage) {
        const storage = createStorage(
          config.storage,
          createCredential({
            managedIdentityClientId: config.managedIdentityClientId,
            simulator: false,
            tenantId: config.tenantId,
          }),
        );
        await storage.ensureTables();
        return { outcomes: storage.outcomes, leavers: storage.leavers, stop: () => Promise.resolve() };
      }
      const dataDir = path.join(LOCAL_DIR, 'azurite');
      await mkdir(dataDir, { recursive: true });
      const local = await startLocalStorage(dataDir);
      notice(
        `No storage configured (STORAGE_CONNECTION_STRING): recording outcomes in a local Azurite, data in ${path.relative(process.cwd(), dataDir)}.`,
      );
      const storage = createStorage({ connectionString: local.connectionString, tablePrefix: '' });
      await storage.ensureTables();
      return { outcomes: storage.outcomes, leavers: storage.leavers, stop: () => local.stop() };
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
    close: async (options = {}) => {
      if (simulator) {
        if (options.persistSample) await saveSampleState(sampleStatePath, simulator);
        await simulator.close();
      }
      if (store) await (await store).stop();
    },
  };
}
