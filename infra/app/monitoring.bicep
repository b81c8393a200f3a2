// What an Azure admin looks at: an Azure Monitor workbook on Application Insights and the alert
// rules, with an action group that emails the address in the azd parameter ALERT_EMAIL.
//
// Every query is a file of its own in infra/queries/ (loaded here with loadTextContent), the same
// text docs/operations.md shows; test/unit/monitoring-queries.test.ts checks that each field a
// query reads is one the app logs. The app's log lines reach Application Insights as `traces`
// (the Functions host forwards the worker's stdout, where pino writes one JSON object per line):
// the queries parse `message` as JSON.
param location string
param tags object = {}
param resourceToken string
param applicationInsightsName string
param serviceBusNamespaceName string
param licenseJobsQueueName string

@description('Email address the alerts go to. Empty: the alert rules exist (and show in the portal) but notify nobody.')
param alertEmail string

@description('Alert when a managed SKU has fewer free seats than this.')
param seatAlertThreshold int

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: serviceBusNamespaceName
}

// ---------------------------------------------------------------------------------------------
// Action group
// ---------------------------------------------------------------------------------------------

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-ems-licensing-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    // At most 12 characters: it is the sender name of SMS and the subject prefix of emails.
    groupShortName: 'emslicensing'
    enabled: true
    emailReceivers: [
      {
        name: 'ems-licensing operators'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = empty(alertEmail) ? [] : [actionGroup.id]

// ---------------------------------------------------------------------------------------------
// Alert rules (log search alerts on Application Insights; a metric alert on Service Bus)
// ---------------------------------------------------------------------------------------------

// Any FAILED outcome: one alert per error code, each row naming the fix.
resource failedAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-ems-licensing-failed-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'ems-licensing: a license job FAILED'
    description: 'A job ended FAILED: someone did not get (or keep) the license the rules want. The alert names the error code; the fix is in the rows, and in docs/operations.md (Troubleshooting).'
    severity: 1
    enabled: true
    scopes: [appInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-failed.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          dimensions: [
            { name: 'code', operator: 'Include', values: ['*'] }
          ]
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroupIds }
  }
}

// Free seats of a managed SKU below the threshold, from the seats the app logs at each catalog read.
resource seatsAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-ems-licensing-seats-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'ems-licensing: few free seats left'
    description: 'A managed SKU has fewer free seats than the threshold: new users will be DEFERRED once they run out. Run `ems-licensing seats` for the forecast; buy licenses or reclaim some.'
    severity: 2
    enabled: true
    scopes: [appInsights.id]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-seats-low.kql')
          timeAggregation: 'Minimum'
          metricMeasureColumn: 'free'
          operator: 'LessThan'
          threshold: seatAlertThreshold
          dimensions: [
            { name: 'sku', operator: 'Include', values: ['*'] }
          ]
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroupIds }
  }
}

// No delta round for an hour: the timer (every 15 minutes) is not running or every round fails.
resource noDeltaAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-ems-licensing-no-delta-${resourceToken}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'ems-licensing: no delta round for an hour'
    description: 'No delta-catchup round finished in the last hour (it runs every 15 minutes). Changes that notifications missed are not caught up. Check the failed invocations in Application Insights (a rules file error, a Graph 403, the app stopped).'
    severity: 2
    enabled: true
    scopes: [appInsights.id]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-no-delta-round.kql')
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: actionGroupIds }
  }
}

// Messages in the dead-letter queue of the job queue (Service Bus metric DeadletteredMessages).
resource deadLetterAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'alert-ems-licensing-dead-letters-${resourceToken}'
  location: 'global'
  tags: tags
  properties: {
    description: 'License jobs are in the dead-letter queue: they failed 10 deliveries or expired. See docs/operations.md (Dead-lettered jobs): find the cause, fix it, then npm run replay-dead-letters.'
    severity: 2
    enabled: true
    scopes: [serviceBus.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadLetteredJobs'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            { name: 'EntityName', operator: 'Include', values: [licenseJobsQueueName] }
          ]
          timeAggregation: 'Maximum'
          operator: 'GreaterThan'
          threshold: 0
        }
      ]
    }
    actions: [for id in actionGroupIds: { actionGroupId: id }]
  }
}

// ---------------------------------------------------------------------------------------------
// Workbook
// ---------------------------------------------------------------------------------------------

// A log query tile: Application Insights as the source, the time range from the picker.
var kql = {
  version: 'KqlItem/1.0'
  size: 0
  queryType: 0
  resourceType: 'microsoft.insights/components'
  timeContextFromParameter: 'TimeRange'
  timeContext: { durationMs: 86400000 }
}

var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      name: 'title'
      content: {
        json: '## ems-licensing\nOutcomes, failures and their fix, jobs waiting, seats, held rounds and dead letters. Queries: infra/queries/ (docs/operations.md explains each). Per-user detail is in the outcomes table; `ems-licensing seats` gives the seat forecast on demand.'
      }
    }
    {
      type: 9
      name: 'parameters'
      content: {
        version: 'KqlParameterItem/1.0'
        style: 'pills'
        queryType: 0
        resourceType: 'microsoft.insights/components'
        parameters: [
          {
            id: 'a3f0c4e2-5d1b-4c6e-9a7f-2b8d0e1c3f45'
            version: 'KqlParameterItem/1.0'
            name: 'TimeRange'
            label: 'Time range'
            type: 4
            isRequired: true
            value: { durationMs: 86400000 }
            typeSettings: {
              selectableValues: [
                { durationMs: 3600000 }
                { durationMs: 14400000 }
                { durationMs: 86400000 }
                { durationMs: 604800000 }
                { durationMs: 2592000000 }
              ]
            }
          }
        ]
      }
    }
    {
      type: 3
      name: 'outcomes-by-kind'
      content: union(kql, {
        title: 'Outcomes by kind'
        query: loadTextContent('../queries/outcomes-by-kind.kql')
        visualization: 'timechart'
      })
    }
    {
      type: 3
      name: 'failures-with-fix'
      content: union(kql, {
        title: 'Failures, by error code, with the fix'
        query: loadTextContent('../queries/failures-with-fix.kql')
        visualization: 'table'
      })
    }
    {
      type: 3
      name: 'deferred-jobs'
      content: union(kql, {
        title: 'Deferred jobs and why'
        query: loadTextContent('../queries/deferred-jobs.kql')
        visualization: 'table'
      })
    }
    {
      type: 3
      name: 'seats-over-time'
      customWidth: '50'
      content: union(kql, {
        title: 'Free seats per managed SKU'
        query: loadTextContent('../queries/seats-over-time.kql')
        visualization: 'linechart'
      })
    }
    {
      type: 3
      name: 'seat-forecast'
      customWidth: '50'
      content: union(kql, {
        title: 'Seat forecast (daily)'
        query: loadTextContent('../queries/seat-forecast.kql')
        visualization: 'table'
      })
    }
    {
      type: 3
      name: 'held-rounds'
      content: union(kql, {
        title: 'Held rounds (blast-radius guard)'
        query: loadTextContent('../queries/held-rounds.kql')
        visualization: 'table'
        noDataMessage: 'No round was held in this time range.'
      })
    }
    {
      type: 10
      name: 'dead-letters'
      content: {
        chartId: 'workbook-ems-licensing-dead-letters'
        version: 'MetricsItem/2.0'
        size: 0
        chartType: 2
        resourceType: 'microsoft.servicebus/namespaces'
        metricScope: 0
        resourceIds: [serviceBus.id]
        timeContextFromParameter: 'TimeRange'
        timeContext: { durationMs: 86400000 }
        metrics: [
          {
            namespace: 'microsoft.servicebus/namespaces'
            metric: 'microsoft.servicebus/namespaces--DeadletteredMessages'
            aggregation: 3
            splitBy: 'EntityName'
          }
        ]
        title: 'Dead-lettered jobs (${licenseJobsQueueName})'
        gridSettings: { rowLimit: 10000 }
      }
    }
    {
      type: 3
      name: 'warnings-and-errors'
      content: union(kql, {
        title: 'Warnings and errors, by message'
        query: loadTextContent('../queries/warnings-and-errors.kql')
        visualization: 'table'
      })
    }
    {
      type: 3
      name: 'failed-invocations'
      content: union(kql, {
        title: 'Failed function invocations'
        query: loadTextContent('../queries/failed-invocations.kql')
        visualization: 'table'
      })
    }
  ]
  fallbackResourceIds: [appInsights.id]
  '$schema': 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json'
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'ems-licensing-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'ems-licensing'
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: string(workbookContent)
  }
}

output workbookId string = workbook.id
output actionGroupId string = empty(alertEmail) ? '' : actionGroup.id
