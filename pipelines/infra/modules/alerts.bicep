// Alerts on the outbox health signals (spec invariant 7, "stalls are visible"):
//   - oldest pending row age   (publisher custom metric, Application Insights customMetrics)
//   - rows failed               (publisher custom metric)
//   - dead letters              (Service Bus platform metric DeadletteredMessages, per queue)
//   - publisher not reporting   (no backlog gauge sample: the publisher is stopped or cannot start)
// Thresholds mirror the solution setting obx_HealthThresholds so the monitor and the alerts agree.

param namePrefix string
param location string
param appInsightsId string
param serviceBusNamespaceId string

@description('E-mail addresses that receive the alerts.')
param alertEmails array

@description('Alert when the oldest Pending row is older than this (seconds).')
param maxPendingAgeSeconds int

@description('Alert when more rows than this failed within the evaluation window.')
param maxFailed int

@description('Alert when a queue holds more dead-lettered messages than this.')
param maxDeadLettered int

param tags object

// Custom metric names the publisher exports through OpenTelemetry (publisher-function/src/telemetry.ts).
var metricOldestPendingAge = 'outbox.pending.oldest_age'
var metricFailed = 'outbox.messages.failed'
var metricBacklog = 'outbox.backlog'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: '${namePrefix}-ag'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: take(replace(namePrefix, '-', ''), 12)
    enabled: true
    emailReceivers: [for (email, i) in alertEmails: {
      name: 'email-${i}'
      emailAddress: email
      useCommonAlertSchema: true
    }]
  }
}

resource oldestPendingAge 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-oldest-pending-age'
  location: location
  tags: tags
  properties: {
    displayName: 'Outbox: oldest pending row too old (backlog growing or publisher stopped)'
    description: 'The oldest Pending outbox row is older than ${maxPendingAgeSeconds} s. Runbook: docs/operations.md, "Backlog growing" and "Publisher stopped".'
    severity: 2
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "${metricOldestPendingAge}" | summarize oldestPendingAgeSeconds = max(valueMax) by bin(timestamp, 5m)'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'oldestPendingAgeSeconds'
          operator: 'GreaterThan'
          threshold: maxPendingAgeSeconds
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [actionGroup.id]
    }
  }
}

resource failedRows 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-failed-rows'
  location: location
  tags: tags
  properties: {
    displayName: 'Outbox: rows failed'
    description: 'More than ${maxFailed} outbox rows ended Failed in 15 minutes; each needs an operator (retry or cancel).'
    severity: 2
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "${metricFailed}" | summarize failedRows = sum(valueSum) by bin(timestamp, 5m)'
          timeAggregation: 'Total'
          metricMeasureColumn: 'failedRows'
          operator: 'GreaterThan'
          threshold: maxFailed
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [actionGroup.id]
    }
  }
}

resource publisherSilent 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${namePrefix}-publisher-silent'
  location: location
  tags: tags
  properties: {
    displayName: 'Outbox: publisher not reporting'
    description: 'No publish cycle reported its backlog for 15 minutes: the publisher is stopped, disabled or failing to start. Runbook: docs/operations.md, "Publisher stopped".'
    severity: 1
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'customMetrics | where name == "${metricBacklog}" | summarize reports = count()'
          timeAggregation: 'Total'
          metricMeasureColumn: 'reports'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [actionGroup.id]
    }
  }
}

resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Messages are in a dead-letter queue; their outbox rows become DeadLettered. Runbook: docs/operations.md, "Dead letters appearing".'
    severity: 1
    enabled: true
    scopes: [serviceBusNamespaceId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadLetteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'GreaterThan'
          threshold: maxDeadLettered
          timeAggregation: 'Maximum'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: actionGroup.id
      }
    ]
  }
}

output actionGroupId string = actionGroup.id
