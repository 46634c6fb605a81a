// Service Bus namespace with the publisher's target queues, the acknowledgement queue and the canary queue.
// Standard tier or above: duplicate detection (the outbox's messageId dedupe) is not available on Basic.
// Local (SAS) authentication is off: only Entra ID identities with data roles can send or receive.

@description('Namespace name (globally unique, 6-50 characters).')
@minLength(6)
@maxLength(50)
param namespaceName string

param location string

@allowed(['Standard', 'Premium'])
param sku string

@description('Target queues the publisher sends to. Session-enabled queues keep per-key order (obx_sessionkey -> sessionId).')
param targetQueues array

@description('Queue consumers acknowledge on (solution setting obx_AckQueue).')
param ackQueueName string

@description('The canary queue (issue 21): canary rows are published to it and the Functions app\'s canary responder answers them. List it in obx_AllowedTargets.')
param canaryQueueName string = 'outbox-canary'

@description('Peek-lock duration (ISO 8601, at most PT5M).')
param lockDuration string

@description('Deliveries before the broker dead-letters a message.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int

@description('Deliveries of an acknowledgement before the broker dead-letters it (larger: acks wait out Dataverse refusals).')
@minValue(1)
@maxValue(2000)
param ackMaxDeliveryCount int

@description('How long the broker remembers message ids to drop duplicates (ISO 8601, PT20S to P7D).')
param duplicateDetectionWindow string

@description('Time to live of a message no consumer took (ISO 8601); expired messages are dead-lettered.')
param messageTimeToLive string

param tags object

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: namespaceName
  location: location
  tags: tags
  // Premium is sized in messaging units; Standard has none.
  sku: sku == 'Premium' ? { name: sku, tier: sku, capacity: 1 } : { name: sku, tier: sku }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = [for queue in targetQueues: {
  parent: namespace
  name: queue.name
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    requiresSession: queue.requiresSession
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
  }
}]

resource ackQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: ackQueueName
  properties: {
    // A consumer may acknowledge twice after a redelivery; the broker drops the copy.
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    requiresSession: false
    lockDuration: lockDuration
    maxDeliveryCount: ackMaxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
  }
}

// The canary queue is an ordinary target (duplicate detection, dead-lettering) without sessions: canaries need no order.
// A message the responder refuses (not a canary) is redelivered maxDeliveryCount times, then dead-lettered.
resource canaryQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = {
  parent: namespace
  name: canaryQueueName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    requiresSession: false
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: messageTimeToLive
    enableBatchedOperations: true
  }
}

output namespaceName string = namespace.name
output namespaceId string = namespace.id
@description('Fully qualified namespace for SERVICEBUS_NAMESPACE (DefaultAzureCredential).')
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
output targetQueueNames array = [for (queue, i) in targetQueues: queues[i].name]
output ackQueueName string = ackQueue.name
output canaryQueueName string = canaryQueue.name
