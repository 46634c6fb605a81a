// Least privilege on Service Bus for the publisher's managed identity, per queue rather than per namespace:
//   Data Sender   on each target queue  (publish outbox rows)
//   Data Receiver on each target queue  (read its dead-letter subqueue: rows become DeadLettered)
//   Data Receiver on the ack queue      (acknowledgements mark rows Acked)
//   Data Sender   on the canary queue   (the canary timer's rows are published to it like any target)
//   Data Receiver on the canary queue   (the canary responder trigger, and its dead-letter subqueue)
// No Sender on the ack queue: the canary responder applies its acknowledgement directly (the publisher's ack processing).

param namespaceName string
param targetQueueNames array
param ackQueueName string
param canaryQueueName string

@description('Object (principal) id of the publisher function app\'s system-assigned managed identity.')
param principalId string

// Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
var serviceBusDataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: namespaceName
}

resource targetQueues 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' existing = [for name in targetQueueNames: {
  parent: namespace
  name: name
}]

resource ackQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' existing = {
  parent: namespace
  name: ackQueueName
}

resource canaryQueue 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' existing = {
  parent: namespace
  name: canaryQueueName
}

resource senderOnTargets 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in targetQueueNames: {
  scope: targetQueues[i]
  name: guid(targetQueues[i].id, principalId, serviceBusDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource receiverOnTargets 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for (name, i) in targetQueueNames: {
  scope: targetQueues[i]
  name: guid(targetQueues[i].id, principalId, serviceBusDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}]

resource receiverOnAcks 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: ackQueue
  name: guid(ackQueue.id, principalId, serviceBusDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource senderOnCanary 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: canaryQueue
  name: guid(canaryQueue.id, principalId, serviceBusDataSender)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource receiverOnCanary 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: canaryQueue
  name: guid(canaryQueue.id, principalId, serviceBusDataReceiver)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
