/**
 * Every setting the app reads, parsed once from an environment object (STYLE.md principle 4).
 * Nothing else reads `process.env`. A missing or malformed setting stops start-up with a message
 * naming the setting and the fix.
 */
import { z } from 'zod';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** True when the URL points at this machine (the Graph simulator, Azurite). */
export function isLoopbackUrl(url: string): boolean {
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/**
 * A secret setting whose Key Vault reference did not resolve arrives as the literal reference
 * text (learn.microsoft.com/azure/app-service/app-service-key-vault-references: "If a reference
 * isn't resolved properly, the reference string is used instead"). That text would pass a length
 * check and silently become the secret, so it is refused by name.
 */
const secretSetting = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((v) => !v.trimStart().startsWith('@Microsoft.KeyVault('), {
      message:
        'is an unresolved Key Vault reference: grant the app identity "Key Vault Secrets User" on the vault and check the secret name (Portal > Function App > Environment variables shows the reference status)',
    });

const intSetting = (def: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(def);

const httpsUrl = z.url().refine((u) => u.startsWith('https://') || isLoopbackUrl(u), {
  message: 'must be an https:// URL (plain http is only allowed on loopback)',
});

/** Settings shared by the CLI and the Functions app. */
const baseEnvSchema = z.object({
  GRAPH_BASE_URL: httpsUrl.default('https://graph.microsoft.com'),
  /** Client id of the user-assigned managed identity; when unset, DefaultAzureCredential is used. */
  AZURE_CLIENT_ID: z.uuid().optional(),
  /** The tenant to sign in to (CLI runs with `az login`); also tells the CLI a tenant is configured. */
  AZURE_TENANT_ID: z.uuid().optional(),
  /** Local development and tests: a full storage connection string (Azurite). */
  STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
  /** In Azure: identity-based endpoints, e.g. https://acct.table.core.windows.net. */
  STORAGE_TABLE_ENDPOINT: httpsUrl.optional(),
  STORAGE_BLOB_ENDPOINT: httpsUrl.optional(),
  /** Prefix for table names (letters and digits), to share one account between apps or test runs. */
  STORAGE_TABLE_PREFIX: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9]{0,30}$/, 'letters and digits only, starting with a letter')
    .optional(),
  RULES_PATH: z.string().min(1).default('rules.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Users processed at once by a reconcile. Graph allows ~20 writes/s per app and tenant. */
  RECONCILE_CONCURRENCY: intSetting(8, 1, 64),
  /** Retries of 429/503/504 inside one Graph call, honouring Retry-After. */
  GRAPH_MAX_RETRIES: intSetting(5, 0, 10),
  /**
   * Graph writes per 150 s per app and tenant: learn.microsoft.com/graph/throttling-limits,
   * identity and access, "3,000 requests per 2 minutes and 30 seconds". The pacer admits writes
   * at 98 % of it. Lower it to leave room for other writers under the same app registration.
   */
  GRAPH_WRITE_BUDGET_PER_150S: intSetting(3_000, 1, 70_000),
  /**
   * Graph resource units per 10 s per app and tenant (same page): 3,500 for tenants under 50
   * users, 5,000 for 50 to 500, 8,000 above. The default is the smallest, right for any tenant.
   */
  GRAPH_RU_BUDGET_PER_10S: intSetting(3_500, 1, 150_000),
  /** Rounds in which a CLI run tries again the users put off by throttling or an outage. */
  RECONCILE_RETRY_ROUNDS: intSetting(3, 0, 10),
  /**
   * The blast-radius guard (lib/engine/blast-guard.ts): a run, delta round or day may remove or
   * reduce a SKU for up to this share of its holders (percent) or this many users, whichever is
   * more; above both it is held until an admin releases it.
   */
  GUARD_REMOVAL_PERCENT: intSetting(10, 0, 100),
  GUARD_REMOVAL_COUNT: intSetting(25, 0, 1_000_000),
});

/** The Service Bus settings the CLI reads to release a held round (the app's own names). */
const serviceBusEnvSchema = z.object({
  ServiceBusConnection__fullyQualifiedNamespace: z.string().min(1).optional(),
  ServiceBusConnection: z.string().min(1).optional(),
  LICENSE_JOBS_QUEUE: z.string().min(1).default('license-jobs'),
});

/** Settings only the Functions app needs (intake, worker, timers). */
export const functionsEnvSchema = baseEnvSchema.extend({
  /** Identity-based Service Bus connection (the trigger's connection name is `ServiceBusConnection`). */
  ServiceBusConnection__fullyQualifiedNamespace: z.string().min(1).optional(),
  /** Local development only: a Service Bus connection string. */
  ServiceBusConnection: z.string().min(1).optional(),
  LICENSE_JOBS_QUEUE: z.string().min(1).default('license-jobs'),
  /** Public https URL of the graph-notifications function (subscriptions point here). */
  NOTIFICATION_URL: httpsUrl,
  /** Secret Graph echoes in every notification; 16 to 128 characters (Key Vault reference). */
  GRAPH_CLIENT_STATE: secretSetting(16, 128),
  /** HR webhook secrets in `whsec_<base64>` form, separated by spaces or commas (rotation). */
  HR_WEBHOOK_SECRETS: secretSetting(1, 8_192),
  HR_MAX_BODY_BYTES: intSetting(262_144, 1_024, 4_194_304),
  /** Hours between an HR `leave` and the removal of managed licenses (0 = at once). */
  HR_LEAVE_GRACE_HOURS: intSetting(0, 0, 24 * 90),
  /** Hours before a future hire's start (`effectiveAt`) at which its license is assigned. */
  HR_HIRE_LEAD_HOURS: intSetting(24, 0, 24 * 90),
  /** How many times a job for a user not yet synced is retried before it FAILS. */
  HIRE_RETRY_LIMIT: intSetting(12, 0, 100),
  /** Attempts of a job Graph keeps throttling or failing (5xx, network) before it FAILS. */
  TRANSIENT_RETRY_LIMIT: intSetting(8, 0, 100),
  /** Attempts of a job waiting for seats before it is parked for the daily cleanup's re-drive. */
  SEAT_RETRY_LIMIT: intSetting(24, 0, 1_000),
  /**
   * Attempts of a job whose outcome cannot be recorded (Table storage unavailable). The job is
   * kept on the queue (never dead-lettered without a record) with a backoff capped at 6 h.
   */
  STORAGE_RETRY_LIMIT: intSetting(100, 1, 10_000),
  /** First delay for not-yet-synced and transient retries; doubles each attempt (capped at 6 h). */
  RETRY_BASE_SECONDS: intSetting(60, 1, 3_600),
  /** When seats run out, how long before a DEFERRED job is tried again. */
  DEFERRED_RETRY_MINUTES: intSetting(60, 1, 24 * 60),
  /** Managed licenses are reclaimed from accounts disabled longer than this (0 = never). */
  DISABLED_RECLAIM_DAYS: intSetting(30, 0, 3_650),
  OUTCOME_RETENTION_DAYS: intSetting(180, 1, 3_650),
  SUMMARY_CONTAINER: z
    .string()
    .regex(
      /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/,
      'a blob container name: lowercase letters, digits, dashes',
    )
    .default('summaries'),
});

type BaseEnv = z.infer<typeof baseEnvSchema>;

export interface StorageConfig {
  connectionString?: string;
  tableEndpoint?: string;
  blobEndpoint?: string;
  tablePrefix: string;
}

/** The Graph budgets the process's pacer keeps to (lib/graph/pacer.ts). */
export interface GraphPacingConfig {
  writesPer150s: number;
  resourceUnitsPer10s: number;
}

export interface BaseConfig {
  graph: { baseUrl: string; maxRetries: number; simulator: boolean; pacing: GraphPacingConfig };
  /** Managed identity client id, or undefined for DefaultAzureCredential. */
  managedIdentityClientId: string | undefined;
  tenantId: string | undefined;
  storage: StorageConfig | null;
  rulesPath: string;
  logLevel: BaseEnv['LOG_LEVEL'];
  concurrency: number;
  retryRounds: number;
  /** The blast-radius guard's thresholds (GUARD_REMOVAL_PERCENT, GUARD_REMOVAL_COUNT). */
  guard: { removalPercent: number; removalCount: number };
}

/** The worker's retry limits and delays (the retry policy's settings: lib/engine/retry-policy.ts). */
export interface RetryConfig {
  /** Attempts for a user that is not in Entra ID yet (an HR hire before AD sync). */
  hireRetryLimit: number;
  /** Attempts for throttling and outages. */
  transientRetryLimit: number;
  /** Attempts while seats are exhausted; after that the daily cleanup re-drives the job. */
  seatRetryLimit: number;
  /**
   * Attempts while the outcome journal is unreachable. Large: the job is kept (never dead-lettered
   * without a record) until storage is back; the backoff is capped at 6 h.
   */
  storageRetryLimit: number;
  retryBaseSeconds: number;
  deferredRetryMinutes: number;
}

export interface FunctionsConfig extends BaseConfig {
  storage: StorageConfig;
  serviceBus: { fullyQualifiedNamespace?: string; connectionString?: string; queue: string };
  notificationUrl: string;
  clientState: string;
  hrSecrets: string[];
  hrMaxBodyBytes: number;
  leaveGraceHours: number;
  hireLeadHours: number;
  retry: RetryConfig;
  disabledReclaimDays: number;
  outcomeRetentionDays: number;
  summaryContainer: string;
}

/** A configuration problem: names the setting and says how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const setting = i.path.join('.') || '(environment)';
      return `  ${setting}: ${i.message}`;
    })
    .join('\n');
}

function parse<S extends z.ZodType>(schema: S, env: Env): z.infer<S> {
  // Treat empty strings as unset: app settings left blank should take the default.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      `Invalid settings:\n${formatIssues(result.error)}\nSet them in local.settings.json (locally) or the Function App's settings; see local.settings.example.json.`,
    );
  }
  return result.data;
}

function storageOf(e: BaseEnv): StorageConfig | null {
  if (!e.STORAGE_CONNECTION_STRING && !e.STORAGE_TABLE_ENDPOINT) return null;
  return {
    ...(e.STORAGE_CONNECTION_STRING ? { connectionString: e.STORAGE_CONNECTION_STRING } : {}),
    ...(e.STORAGE_TABLE_ENDPOINT ? { tableEndpoint: e.STORAGE_TABLE_ENDPOINT } : {}),
    ...(e.STORAGE_BLOB_ENDPOINT ? { blobEndpoint: e.STORAGE_BLOB_ENDPOINT } : {}),
    tablePrefix: e.STORAGE_TABLE_PREFIX ?? '',
  };
}

function baseOf(e: BaseEnv): BaseConfig {
  return {
    graph: {
      baseUrl: e.GRAPH_BASE_URL.replace(/\/+$/, ''),
      maxRetries: e.GRAPH_MAX_RETRIES,
      simulator: isLoopbackUrl(e.GRAPH_BASE_URL),
      pacing: {
        writesPer150s: e.GRAPH_WRITE_BUDGET_PER_150S,
        resourceUnitsPer10s: e.GRAPH_RU_BUDGET_PER_10S,
      },
    },
    managedIdentityClientId: e.AZURE_CLIENT_ID,
    tenantId: e.AZURE_TENANT_ID,
    storage: storageOf(e),
    rulesPath: e.RULES_PATH,
    logLevel: e.LOG_LEVEL,
    concurrency: e.RECONCILE_CONCURRENCY,
    retryRounds: e.RECONCILE_RETRY_ROUNDS,
    guard: { removalPercent: e.GUARD_REMOVAL_PERCENT, removalCount: e.GUARD_REMOVAL_COUNT },
  };
}

/** Settings for the CLI: storage is optional (the CLI can run an embedded Azurite). */
export function loadBaseConfig(env: Env): BaseConfig {
  return baseOf(parse(baseEnvSchema, env));
}

/**
 * The app's Service Bus settings, for a CLI command that sends jobs to its queue (`release`): the
 * namespace (with the operator's sign-in) or a connection string. Null when neither is set.
 */
export function loadServiceBusConfig(env: Env): FunctionsConfig['serviceBus'] | null {
  const e = parse(serviceBusEnvSchema, env);
  if (!e.ServiceBusConnection__fullyQualifiedNamespace && !e.ServiceBusConnection) return null;
  return {
    ...(e.ServiceBusConnection__fullyQualifiedNamespace
      ? { fullyQualifiedNamespace: e.ServiceBusConnection__fullyQualifiedNamespace }
      : {}),
    ...(e.ServiceBusConnection ? { connectionString: e.ServiceBusConnection } : {}),
    queue: e.LICENSE_JOBS_QUEUE,
  };
}

/** Splits `whsec_a whsec_b` or `whsec_a,whsec_b` and checks each secret's form. */
export function parseWebhookSecrets(raw: string): string[] {
  const secrets = raw.split(/[\s,]+/).filter(Boolean);
  for (const [i, s] of secrets.entries()) {
    if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s)) {
      throw new ConfigError(
        `HR_WEBHOOK_SECRETS: secret #${i + 1} is not in whsec_<base64> form. Generate one with: node -e "console.log('whsec_'+require('crypto').randomBytes(32).toString('base64'))"`,
      );
    }
    const bytes = Buffer.from(s.slice('whsec_'.length), 'base64').length;
    if (bytes < 24 || bytes > 64) {
      throw new ConfigError(
        `HR_WEBHOOK_SECRETS: secret #${i + 1} decodes to ${bytes} bytes; use 24 to 64 bytes.`,
      );
    }
  }
  return secrets;
}

/** Settings for the Functions app: storage and Service Bus are required. */
export function loadFunctionsConfig(env: Env): FunctionsConfig {
  const e = parse(functionsEnvSchema, env);
  const base = baseOf(e);
  if (!base.storage) {
    throw new ConfigError(
      'Invalid settings:\n  STORAGE_TABLE_ENDPOINT: required (or STORAGE_CONNECTION_STRING locally). Set it to https://<account>.table.core.windows.net.',
    );
  }
  if (!e.ServiceBusConnection__fullyQualifiedNamespace && !e.ServiceBusConnection) {
    throw new ConfigError(
      'Invalid settings:\n  ServiceBusConnection__fullyQualifiedNamespace: required (or ServiceBusConnection, a connection string, locally). Set it to <namespace>.servicebus.windows.net.',
    );
  }
  return {
    ...base,
    storage: base.storage,
    serviceBus: {
      ...(e.ServiceBusConnection__fullyQualifiedNamespace
        ? { fullyQualifiedNamespace: e.ServiceBusConnection__fullyQualifiedNamespace }
        : {}),
      ...(e.ServiceBusConnection ? { connectionString: e.ServiceBusConnection } : {}),
      queue: e.LICENSE_JOBS_QUEUE,
    },
    notificationUrl: e.NOTIFICATION_URL,
    clientState: e.GRAPH_CLIENT_STATE,
    hrSecrets: parseWebhookSecrets(e.HR_WEBHOOK_SECRETS),
    hrMaxBodyBytes: e.HR_MAX_BODY_BYTES,
    leaveGraceHours: e.HR_LEAVE_GRACE_HOURS,
    hireLeadHours: e.HR_HIRE_LEAD_HOURS,
    retry: {
      hireRetryLimit: e.HIRE_RETRY_LIMIT,
      transientRetryLimit: e.TRANSIENT_RETRY_LIMIT,
      seatRetryLimit: e.SEAT_RETRY_LIMIT,
      storageRetryLimit: e.STORAGE_RETRY_LIMIT,
      retryBaseSeconds: e.RETRY_BASE_SECONDS,
      deferredRetryMinutes: e.DEFERRED_RETRY_MINUTES,
    },
    disabledReclaimDays: e.DISABLED_RECLAIM_DAYS,
    outcomeRetentionDays: e.OUTCOME_RETENTION_DAYS,
    summaryContainer: e.SUMMARY_CONTAINER,
  };
}
