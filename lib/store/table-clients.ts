/**
 * Builds the storage adapters once, from the validated storage config: one TableClient per table
 * and a blob container client for summaries. The composition root calls {@link createStorage}
 * and hands the ports to the parts that need them.
 */
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { isLoopbackUrl, type StorageConfig } from '../config.js';
import { TableCheckpointStore } from './checkpoint-table.js';
import { TableGuardStore } from './guard-table.js';
import { TableDisabledAccountStore, TableLeaverStore } from './user-marks-table.js';
import { TableInboxStore } from './inbox-table.js';
import { TableOutcomeStore } from './outcome-table.js';
import type {
  CheckpointStore,
  DisabledAccountStore,
  GuardStore,
  InboxStore,
  LeaverStore,
  OutcomeStore,
  ScheduledHireStore,
  SubscriptionStore,
  SummaryWriter,
} from './ports.js';
import { TableScheduledHireStore } from './scheduled-hire-table.js';
import { TableSubscriptionStore } from './subscription-table.js';
import { BlobSummaryWriter } from './summary-blob.js';

/** The app's tables, before the prefix. */
export const TABLE_NAMES = ['outcomes', 'inbox', 'checkpoints', 'subscriptions'] as const;
export type TableName = (typeof TABLE_NAMES)[number];

/** The default summaries container (the `SUMMARY_CONTAINER` setting's default). */
export const DEFAULT_SUMMARY_CONTAINER = 'summaries';

/**
 * Table names: alphanumeric, starting with a letter, 3 to 63 characters
 * ("Understanding the Table service data model", Table names).
 */
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

/** Every storage port, built on one account. */
export interface Storage {
  outcomes: OutcomeStore;
  inbox: InboxStore;
  checkpoints: CheckpointStore;
  subscriptions: SubscriptionStore;
  /** Kept in the checkpoints table (partition `disabled`). */
  disabledAccounts: DisabledAccountStore;
  /** Kept in the checkpoints table (partition `leavers`). */
  leavers: LeaverStore;
  /** The blast-radius guard's held rounds and counts (checkpoints table, `guard-*` partitions). */
  guard: GuardStore;
  /** Kept in the checkpoints table (partition `hires`). */
  scheduledHires: ScheduledHireStore;
  summaries: SummaryWriter;
  /** The full table names in use (prefix included), for logs and tools. */
  tableNames: Record<TableName, string>;
  /**
   * Creates the four tables if missing. Idempotent and done once per Storage: later calls share
   * the first call's promise (a failed attempt is retried by the next call).
   */
  ensureTables(): Promise<void>;
}

/** Options beyond {@link StorageConfig}. */
export interface CreateStorageOptions {
  /** Blob container for run summaries; {@link DEFAULT_SUMMARY_CONTAINER} when omitted. */
  summaryContainer?: string;
  /**
   * Retry policy for every TableClient (the SDK's default is 3 retries from 1 s, exponential).
   * Intake passes a tight one so a failing Table endpoint still leaves time to answer 5xx.
   */
  retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

/**
 * Builds the storage ports from `config`: from `connectionString` when set (local development,
 * tests, Azurite), otherwise from `tableEndpoint` / `blobEndpoint` and `credential` (managed
 * identity in Azure). Creates no tables: call `ensureTables()` once at start-up.
 */
export function createStorage(
  config: StorageConfig,
  credential?: TokenCredential,
  options: CreateStorageOptions = {},
): Storage {
  const tableNames = Object.fromEntries(
    TABLE_NAMES.map((name) => [name, `${config.tablePrefix}${name}`]),
  ) as Record<TableName, string>;
  for (const name of Object.values(tableNames)) {
    if (!TABLE_NAME.test(name)) {
      throw new Error(
        `Table name ${name} is invalid: STORAGE_TABLE_PREFIX must be letters and digits, starting with a letter`,
      );
    }
  }
  const tableClient = tableClientFactory(
    config,
    credential,
    options.retryOptions ? { retryOptions: options.retryOptions } : {},
  );
  const clients = Object.fromEntries(
    TABLE_NAMES.map((name) => [name, tableClient(tableNames[name])]),
  ) as Record<TableName, TableClient>;
  const summaryContainer = options.summaryContainer ?? DEFAULT_SUMMARY_CONTAINER;

  let ensured: Promise<void> | undefined;
  return {
    outcomes: new TableOutcomeStore(clients.outcomes),
    inbox: new TableInboxStore(clients.inbox),
    checkpoints: new TableCheckpointStore(clients.checkpoints),
    subscriptions: new TableSubscriptionStore(clients.subscriptions),
    disabledAccounts: new TableDisabledAccountStore(clients.checkpoints),
    leavers: new TableLeaverStore(clients.checkpoints),
    guard: new TableGuardStore(clients.checkpoints),
    scheduledHires: new TableScheduledHireStore(clients.checkpoints),
    summaries: summaryWriter(config, credential, summaryContainer),
    tableNames,
    ensureTables: () => {
      ensured ??= createTables(Object.values(clients)).catch((error: unknown) => {
        ensured = undefined;
        throw error;
      });
      return ensured;
    },
  };
}

/** The table endpoint a connection string names, if it names one (`TableEndpoint=...`). */
function tableEndpointOf(connectionString: string): string | undefined {
  for (const part of connectionString.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === 'tableendpoint') {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/**
 * Plain http is allowed only to this machine (Azurite). The SDK refuses to send credentials over
 * http unless `allowInsecureConnection` is set; setting it for a remote host would leak them.
 */
function clientOptionsFor(endpoint: string | undefined): TableServiceClientOptions {
  const insecureLoopback =
    endpoint !== undefined && endpoint.toLowerCase().startsWith('http://') && isLoopbackUrl(endpoint);
  return insecureLoopback ? { allowInsecureConnection: true } : {};
}

function tableClientFactory(
  config: StorageConfig,
  credential: TokenCredential | undefined,
  extra: TableServiceClientOptions,
): (tableName: string) => TableClient {
  const { connectionString, tableEndpoint } = config;
  if (connectionString !== undefined) {
    const options = { ...extra, ...clientOptionsFor(tableEndpointOf(connectionString)) };
    return (tableName) => TableClient.fromConnectionString(connectionString, tableName, options);
  }
  if (tableEndpoint !== undefined) {
    if (credential === undefined) {
      throw new Error(
        'STORAGE_TABLE_ENDPOINT is set but no credential was given: pass the managed identity credential to createStorage',
      );
    }
    const options = { ...extra, ...clientOptionsFor(tableEndpoint) };
    return (tableName) => new TableClient(tableEndpoint, tableName, credential, options);
  }
  throw new Error(
    'No table storage configured: set STORAGE_TABLE_ENDPOINT (https://<account>.table.core.windows.net) or, locally, STORAGE_CONNECTION_STRING',
  );
}

function summaryWriter(
  config: StorageConfig,
  credential: TokenCredential | undefined,
  container: string,
): SummaryWriter {
  if (config.connectionString !== undefined) {
    const connectionString = config.connectionString;
    // Built on first write: a connection string the blob SDK cannot use (tables only, no blob
    // endpoint) must fail the daily summary, not every function that only needs tables.
    let writer: SummaryWriter | undefined;
    return {
      write: async (name, json, markdown) => {
        writer ??= BlobSummaryWriter.fromConnectionString(connectionString, container);
        return writer.write(name, json, markdown);
      },
    };
  }
  if (config.blobEndpoint !== undefined && credential !== undefined) {
    return BlobSummaryWriter.fromEndpoint(config.blobEndpoint, credential, container);
  }
  // Tables work without blobs; only writing a summary needs the blob endpoint, so fail there.
  return {
    write: () =>
      Promise.reject(
        new Error(
          'Cannot write a run summary: STORAGE_BLOB_ENDPOINT is not set. Set it to https://<account>.blob.core.windows.net',
        ),
      ),
  };
}

/**
 * Create Table returns 409 TableAlreadyExists when the table is there; TableClient.createTable
 * already treats that as success, which is what makes this idempotent.
 */
async function createTables(clients: TableClient[]): Promise<void> {
  try {
    await Promise.all(clients.map((client) => client.createTable()));
  } catch (error) {
    throw new Error('Could not create the storage tables', { cause: error });
  }
}
