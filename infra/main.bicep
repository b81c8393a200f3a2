// ems-licensing on Azure: a Flex Consumption Function App (Node 22) with one user-assigned managed
// identity for everything, identity-only storage, a session-enabled Service Bus queue, Key Vault for
// the two secrets, and Application Insights on Log Analytics with Entra ID ingestion.
// Laid out like Azure-Samples/functions-quickstart-typescript-azd: subscription scope, AVM modules,
// the app and the role assignments in infra/app/.
//
// Microsoft Graph application permissions are NOT granted here (that needs a directory role, not an
// Azure RBAC one): run `npm run grant-graph-permissions -- --apply` after `azd up`.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds a short unique token used in every resource name.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person (or pipeline) running azd; gets read access to outcomes and can replay dead letters. Leave empty to skip.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal'])
@description('Kind of principal in principalId.')
param principalType string = 'User'

@secure()
@minLength(16)
@maxLength(128)
@description('Graph subscription clientState (16 to 128 characters). Stored in Key Vault only.')
param graphClientState string

@secure()
@minLength(1)
@description('HR webhook secrets, whsec_<base64>, separated by spaces or commas. Stored in Key Vault only.')
param hrWebhookSecrets string

@description('Microsoft Graph base URL (national clouds: https://graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn).')
param graphBaseUrl string = 'https://graph.microsoft.com'

@description('Service Bus queue for license jobs; also the LICENSE_JOBS_QUEUE setting.')
param licenseJobsQueueName string = 'license-jobs'

@description('Blob container for run summaries; also the SUMMARY_CONTAINER setting.')
param summaryContainerName string = 'summaries'

@description('Upper bound of Flex Consumption instances. 40 is the lowest value Flex Consumption accepts (learn.microsoft.com/azure/azure-functions/flex-consumption-plan, Considerations: Scale). Every instance paces its Graph writes and shares the budget through the signals Graph sends (README, Pacing); this bounds how many pacers share it.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([512, 2048, 4096])
@description('Memory per Flex Consumption instance.')
param instanceMemoryMB int = 2048

@description('Email address the alerts go to (azd env ALERT_EMAIL). Empty: the alert rules exist, visible in the portal, but notify nobody.')
param alertEmail string = ''

@minValue(0)
@description('Alert when a managed SKU has fewer free seats than this.')
param seatAlertThreshold int = 5

@description('Tunable app settings. Defaults equal those in lib/config.ts (test/unit/infra-consistency.test.ts checks it); app settings are strings.')
param tunables object = {
  RULES_PATH: 'rules.yaml'
  LOG_LEVEL: 'info'
  RECONCILE_CONCURRENCY: '8'
  RECONCILE_RETRY_ROUNDS: '3'
  GRAPH_MAX_RETRIES: '5'
  GRAPH_WRITE_BUDGET_PER_150S: '3000'
  GRAPH_RU_BUDGET_PER_10S: '3500'
  HR_MAX_BODY_BYTES: '262144'
  HR_LEAVE_GRACE_HOURS: '0'
  HR_HIRE_LEAD_HOURS: '24'
  HIRE_RETRY_LIMIT: '12'
  TRANSIENT_RETRY_LIMIT: '8'
  SEAT_RETRY_LIMIT: '24'
  STORAGE_RETRY_LIMIT: '100'
  RETRY_BASE_SECONDS: '60'
  DEFERRED_RETRY_MINUTES: '60'
  DISABLED_RECLAIM_DAYS: '30'
  OUTCOME_RETENTION_DAYS: '180'
  GUARD_REMOVAL_PERCENT: '10'
  GUARD_REMOVAL_COUNT: '25'
}

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = '${abbrs.webSitesFunctions}ems-licensing-${resourceToken}'
var deploymentContainerName = 'app-package'

// Table names the app uses (lib/store/table-clients.ts TABLE_NAMES); it also ensures them at start-up.
var tableNames = ['outcomes', 'inbox', 'checkpoints', 'subscriptions']

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// One user-assigned identity for the host storage, deployment, tables, blobs, Service Bus, Key Vault
// references, Application Insights ingestion and Microsoft Graph.
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}ems-licensing-${resourceToken}'
    location: location
    tags: tags
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

// disableLocalAuth: ingestion only with an Entra ID token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING
// plus Monitoring Metrics Publisher), so the instrumentation key in the connection string is not a credential.
module appInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
  }
}

// Shared keys off: every caller (host, deployment, app) authenticates with Entra ID.
module storage 'br/public:avm/res/storage/storage-account:0.32.1' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    skuName: 'Standard_LRS'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
    blobServices: {
      containers: [
        { name: deploymentContainerName, publicAccess: 'None' }
        { name: summaryContainerName, publicAccess: 'None' }
      ]
    }
    tableServices: {
      tables: [for t in tableNames: { name: t }]
    }
  }
}

// Standard tier: the lowest tier with sessions and duplicate detection. SAS keys off.
// Queue properties are explained in docs/operations.md ("Queue settings").
module serviceBus 'br/public:avm/res/service-bus/namespace:0.16.1' = {
  name: 'serviceBus'
  scope: rg
  params: {
    name: '${abbrs.serviceBusNamespaces}${resourceToken}'
    location: location
    tags: tags
    skuObject: {
      name: 'Standard'
    }
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    queues: [
      {
        name: licenseJobsQueueName
        // One user's jobs never run concurrently: sessionId = the user's object id.
        requiresSession: true
        // MessageId is derived from the source event, so a re-published event is dropped by the
        // broker. Short on purpose: Graph user notifications carry no unique id, and an identical
        // notification minutes later is a real new change (the inbox table re-accepts it).
        requiresDuplicateDetection: true
        duplicateDetectionHistoryTimeWindow: 'PT10M'
        // The trigger abandons on a throw (immediate redelivery); expected retries are scheduled
        // copies, so this only counts crashes. Then the dead-letter queue, reason MaxDeliveryCountExceeded.
        maxDeliveryCount: 10
        // The maximum. A job reads, writes, re-reads Graph and may wait out Retry-After; the host also
        // renews the session lock (host.json maxAutoLockRenewalDuration), this is the safety margin.
        lockDuration: 'PT5M'
        // Scheduled retries are re-sent copies with their own TTL; 14 days bounds a forgotten message.
        defaultMessageTimeToLive: 'P14D'
        deadLetteringOnMessageExpiration: true
        maxSizeInMegabytes: 1024
      }
    ]
  }
}

// RBAC authorization; the app reads the secrets through Key Vault references with the identity.
// Purge protection off so `azd down --purge` followed by `azd up` can reuse the name; the two secrets
// are regenerable by the operator (docs/operations.md).
module keyVault 'br/public:avm/res/key-vault/vault:0.13.3' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    enableRbacAuthorization: true
    enablePurgeProtection: false
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    secrets: [
      { name: 'graph-client-state', value: graphClientState }
      { name: 'hr-webhook-secrets', value: hrWebhookSecrets }
    ]
  }
}

module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'appServicePlan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
  }
}

module api './app/api.bicep' = {
  name: 'api'
  scope: rg
  // The Key Vault references and identity-based connections resolve only once the identity holds
  // its roles; deploying the app first can leave a reference unresolved at its first start.
  dependsOn: [rbac]
  params: {
    name: functionAppName
    location: location
    tags: tags
    appServicePlanId: appServicePlan.outputs.resourceId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    summaryContainerName: summaryContainerName
    serviceBusNamespaceName: serviceBus.outputs.name
    licenseJobsQueueName: licenseJobsQueueName
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: appInsights.outputs.name
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    graphBaseUrl: graphBaseUrl
    tunables: tunables
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

// The workbook, the alert rules and their action group (queries in infra/queries/).
module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: resourceToken
    applicationInsightsName: appInsights.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    licenseJobsQueueName: licenseJobsQueueName
    alertEmail: alertEmail
    seatAlertThreshold: seatAlertThreshold
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: appInsights.outputs.name
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_HOSTNAME string = api.outputs.hostName
output NOTIFICATION_URL string = api.outputs.notificationUrl
output AZURE_MANAGED_IDENTITY_NAME string = identity.outputs.name
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output STORAGE_TABLE_ENDPOINT string = api.outputs.tableEndpoint
output STORAGE_BLOB_ENDPOINT string = api.outputs.blobEndpoint
output SERVICE_BUS_NAMESPACE string = api.outputs.serviceBusHost
output LICENSE_JOBS_QUEUE string = licenseJobsQueueName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output APPLICATIONINSIGHTS_NAME string = appInsights.outputs.name
output AZURE_MONITOR_WORKBOOK_ID string = monitoring.outputs.workbookId
