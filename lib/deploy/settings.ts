/**
 * Setting names that belong to the Functions host or the Azure platform rather than to the app's
 * own schema (lib/config.ts). The infra consistency test and the operator guide use these lists.
 */

/** Settings read by the Functions host, the Node worker or the Application Insights integration. */
export const RUNTIME_SETTINGS: readonly string[] = [
  'FUNCTIONS_WORKER_RUNTIME',
  'AzureWebJobsStorage',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'AzureWebJobsStorage__blobServiceUri',
  'AzureWebJobsStorage__queueServiceUri',
  'AzureWebJobsStorage__tableServiceUri',
  'ServiceBusConnection__credential',
  'ServiceBusConnection__clientId',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

/**
 * Schema settings that exist for local development only and must not be set in Azure: keys are
 * disabled there (storage shared keys, Service Bus SAS), and one app owns its storage account.
 */
export const LOCAL_ONLY_SETTINGS: readonly string[] = [
  'STORAGE_CONNECTION_STRING',
  'ServiceBusConnection',
  'STORAGE_TABLE_PREFIX',
];

/** Names of the Key Vault secrets behind the app's two secret settings. */
export const KEY_VAULT_SECRETS = {
  GRAPH_CLIENT_STATE: 'graph-client-state',
  HR_WEBHOOK_SECRETS: 'hr-webhook-secrets',
} as const;
