// Azure side of Dataverse Outbox, deployed into one resource group per environment:
//   Service Bus (target queues + ack queue + canary queue), the publisher function app (Flex Consumption, managed identity),
//   least-privilege Service Bus roles for that identity, Application Insights, and alerts on the health signals.
// Deploy: az deployment group create --resource-group <rg> --template-file pipelines/infra/main.bicep
//           --parameters @pipelines/infra/parameters/<env>.parameters.json --parameters dataverseUrl=<url>
// No secret is a parameter or an output: every identity is Entra ID (managed identity, RBAC).

targetScope = 'resourceGroup'

@description('Short environment name: dev, test or prod.')
@allowed(['dev', 'test', 'prod'])
param environmentName string

@description('Base name for resources (letters and digits, 3-11 characters); a unique suffix is added where names must be global.')
@minLength(3)
@maxLength(11)
param baseName string = 'outbox'

param location string = resourceGroup().location

@description('Dataverse environment URL, e.g. https://contoso.crm.dynamics.com (DATAVERSE_URL).')
param dataverseUrl string

@description('Lease scope of this publisher (OUTBOX_SCOPE).')
param outboxScope string = 'default'

@description('Seconds a publisher lease lasts (OUTBOX_LEASE_DURATION_SECONDS): after a crash a standby takes over when it ends.')
@minValue(5)
@maxValue(3600)
param leaseDurationSeconds int = 60

@description('Seconds between a standby\'s looks at the lease (OUTBOX_STANDBY_POLL_SECONDS): a graceful hand-over takes about this long.')
@minValue(1)
@maxValue(300)
param standbyPollSeconds int = 3

@allowed(['Standard', 'Premium'])
param serviceBusSku string = 'Standard'

@description('Queues the publisher sends to: [{ name, requiresSession }]. Also list them in obx_AllowedTargets.')
param targetQueues array

@description('Acknowledgement queue (solution setting obx_AckQueue).')
param ackQueueName string = 'outbox-acks'

@description('Canary queue (issue 21): the deploy\'s verify step and the scheduled canary publish to it, the Functions app\'s canary responder answers. Also list it in obx_AllowedTargets.')
param canaryQueueName string = 'outbox-canary'

@description('Write a canary row every 5 minutes (OUTBOX_CANARY_TARGET = the canary queue): a broken path shows while business traffic is quiet.')
param canaryScheduled bool = true

@description('Peek-lock duration of every queue (ISO 8601).')
param lockDuration string = 'PT1M'

@description('Deliveries before a message is dead-lettered.')
param maxDeliveryCount int = 10

@description('Deliveries of an acknowledgement before it is dead-lettered: the ack listener abandons acks while Dataverse refuses them (pausing up to 30 s between receives), so 100 rides out about 50 minutes of refusals where 10 covered 2.5.')
@minValue(10)
@maxValue(2000)
param ackMaxDeliveryCount int = 100

@description('Duplicate detection window (ISO 8601): a re-sent outbox row inside it is dropped by the broker.')
param duplicateDetectionWindow string = 'PT1H'

@description('Message time to live (ISO 8601); expired messages go to the dead-letter queue.')
param messageTimeToLive string = 'P14D'

@allowed([2048, 4096])
param functionInstanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 40

@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

param alertEmails array = []

@description('Same as obx_HealthThresholds.maxPendingAgeSeconds.')
param maxPendingAgeSeconds int = 300

@description('Same as obx_HealthThresholds.maxFailed.')
param maxFailed int = 0

@description('Same as obx_HealthThresholds.maxDeadLettered.')
param maxDeadLettered int = 0

param tags object = {
  application: 'dataverse-outbox'
  environment: environmentName
}

var suffix = uniqueString(resourceGroup().id, environmentName)
var namePrefix = '${baseName}-${environmentName}'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: '${namePrefix}-log'
    appInsightsName: '${namePrefix}-appi'
    location: location
    retentionInDays: logRetentionInDays
    tags: tags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  params: {
    namespaceName: '${namePrefix}-sb-${suffix}'
    location: location
    sku: serviceBusSku
    targetQueues: targetQueues
    ackQueueName: ackQueueName
    canaryQueueName: canaryQueueName
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    ackMaxDeliveryCount: ackMaxDeliveryCount
    duplicateDetectionWindow: duplicateDetectionWindow
    messageTimeToLive: messageTimeToLive
    tags: tags
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    functionAppName: '${namePrefix}-func-${suffix}'
    planName: '${namePrefix}-plan'
    storageAccountName: take(toLower('${baseName}${environmentName}${suffix}'), 24)
    location: location
    dataverseUrl: dataverseUrl
    serviceBusNamespace: serviceBus.outputs.fullyQualifiedNamespace
    outboxScope: outboxScope
    ackQueueName: serviceBus.outputs.ackQueueName
    canaryQueueName: serviceBus.outputs.canaryQueueName
    canaryTarget: canaryScheduled ? serviceBus.outputs.canaryQueueName : ''
    leaseDurationSeconds: leaseDurationSeconds
    standbyPollSeconds: standbyPollSeconds
    appInsightsConnectionString: monitoring.outputs.connectionString
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstanceCount
    tags: tags
  }
}

module serviceBusRoles 'modules/servicebus-roles.bicep' = {
  name: 'servicebus-roles'
  params: {
    namespaceName: serviceBus.outputs.namespaceName
    targetQueueNames: serviceBus.outputs.targetQueueNames
    ackQueueName: serviceBus.outputs.ackQueueName
    canaryQueueName: serviceBus.outputs.canaryQueueName
    principalId: functionApp.outputs.principalId
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: namePrefix
    location: location
    appInsightsId: monitoring.outputs.appInsightsId
    serviceBusNamespaceId: serviceBus.outputs.namespaceId
    alertEmails: alertEmails
    maxPendingAgeSeconds: maxPendingAgeSeconds
    maxFailed: maxFailed
    maxDeadLettered: maxDeadLettered
    tags: tags
  }
}

output functionAppName string = functionApp.outputs.functionAppName
@description('Object id of the publisher identity; its application (client) id becomes the Dataverse application user.')
output functionAppPrincipalId string = functionApp.outputs.principalId
output serviceBusNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output appInsightsName string = monitoring.outputs.appInsightsName
