// The Function App: Flex Consumption (FC1), Node 22, deployment package in a blob container, every
// connection identity-based through one user-assigned identity, secrets as Key Vault references.
param name string
param location string = resourceGroup().location
param tags object = {}
param appServicePlanId string
param storageAccountName string
param deploymentContainerName string
param summaryContainerName string
param serviceBusNamespaceName string
param licenseJobsQueueName string
param keyVaultName string
param applicationInsightsName string
param identityId string
param identityClientId string
param graphBaseUrl string
@description('Tunable settings with their defaults (main.bicep param tunables).')
param tunables object
param maximumInstanceCount int
param instanceMemoryMB int
param serviceName string = 'api'

resource stg 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource sb 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: serviceBusNamespaceName
}

resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// serviceBusEndpoint is https://<ns>.servicebus.windows.net:443/ (the suffix differs in national clouds).
var serviceBusHost = split(replace(sb.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
// The default host name of a new app is <name>.azurewebsites.net. It cannot be read from the site
// module's output here (the settings are an input of that module), hence composed.
var hostName = '${name}.azurewebsites.net'
var tableEndpoint = stg.properties.primaryEndpoints.table
var blobEndpoint = stg.properties.primaryEndpoints.blob

// Every setting the app reads (lib/config.ts functionsEnvSchema) plus the Functions host's own.
// Not set here, on purpose: STORAGE_CONNECTION_STRING and ServiceBusConnection (local development
// only; keys are disabled in Azure) and STORAGE_TABLE_PREFIX (one app per account).
// Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION / WEBSITE_RUN_FROM_PACKAGE:
// the runtime comes from functionAppConfig.runtime below.
var platformSettings = {
  // Host storage (timer leases, keys, diagnostics), identity-based.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: blobEndpoint
  AzureWebJobsStorage__queueServiceUri: stg.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: tableEndpoint
  // The Service Bus trigger's connection (functions/license-worker.ts: connection 'ServiceBusConnection').
  ServiceBusConnection__fullyQualifiedNamespace: serviceBusHost
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identityClientId
  // The app's own clients (DefaultAzureCredential / ManagedIdentityCredential pick this identity).
  AZURE_CLIENT_ID: identityClientId
  // The tenant the app runs for: the intake drops change notifications naming any other tenant.
  AZURE_TENANT_ID: tenant().tenantId
  STORAGE_TABLE_ENDPOINT: tableEndpoint
  STORAGE_BLOB_ENDPOINT: blobEndpoint
  SUMMARY_CONTAINER: summaryContainerName
  GRAPH_BASE_URL: graphBaseUrl
  LICENSE_JOBS_QUEUE: licenseJobsQueueName
  NOTIFICATION_URL: 'https://${hostName}/api/graph-notifications'
  // Resolved by the platform with keyVaultReferenceIdentity (below); no version = latest secret.
  GRAPH_CLIENT_STATE: '@Microsoft.KeyVault(SecretUri=${kv.properties.vaultUri}secrets/graph-client-state)'
  HR_WEBHOOK_SECRETS: '@Microsoft.KeyVault(SecretUri=${kv.properties.vaultUri}secrets/hr-webhook-secrets)'
  // Telemetry with Entra ID ingestion (the component has local auth disabled).
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

var appSettings = union(tunables, platformSettings)

module site 'br/public:avm/res/web/site:0.15.1' = {
  name: '${serviceName}-flex-consumption'
  params: {
    kind: 'functionapp,linux'
    name: name
    location: location
    tags: union(tags, { 'azd-service-name': serviceName })
    serverFarmResourceId: appServicePlanId
    httpsOnly: true
    managedIdentities: {
      systemAssigned: false
      userAssignedResourceIds: [
        identityId
      ]
    }
    keyVaultAccessIdentityResourceId: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      alwaysOn: false
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    appSettingsKeyValuePairs: appSettings
  }
}

output name string = site.outputs.name
output hostName string = hostName
output notificationUrl string = 'https://${hostName}/api/graph-notifications'
output tableEndpoint string = tableEndpoint
output blobEndpoint string = blobEndpoint
output serviceBusHost string = serviceBusHost
