// The publisher: Azure Functions (Node.js 20) on the Flex Consumption plan, with a system-assigned managed identity.
// The identity is used for everything: host storage, the deployment package container, Service Bus and Dataverse
// (DefaultAzureCredential). No keys or connection strings with secrets are stored in app settings.

param functionAppName string
param planName string
param storageAccountName string
param location string

@description('Dataverse environment URL (app setting DATAVERSE_URL).')
param dataverseUrl string

@description('Fully qualified Service Bus namespace (app setting SERVICEBUS_NAMESPACE).')
param serviceBusNamespace string

@description('Lease scope (app setting OUTBOX_SCOPE): one active publisher per scope.')
param outboxScope string

@description('Queue the acknowledgements trigger listens on (app setting OUTBOX_ACK_QUEUE, the trigger\'s %OUTBOX_ACK_QUEUE%; it also overrides obx_AckQueue so the publisher and the trigger agree).')
param ackQueueName string

@description('Queue the canary responder trigger listens on (app setting OUTBOX_CANARY_QUEUE, the trigger\'s %OUTBOX_CANARY_QUEUE%). Without it the app does not start.')
param canaryQueueName string

@description('Queue the canary timer writes a canary row for every 5 minutes (app setting OUTBOX_CANARY_TARGET); empty: no scheduled canary.')
param canaryTarget string

@description('How long a taken lease lasts, renewed at half of it (app setting OUTBOX_LEASE_DURATION_SECONDS).')
@minValue(5)
@maxValue(3600)
param leaseDurationSeconds int

@description('How often an instance without the lease looks whether it is free (app setting OUTBOX_STANDBY_POLL_SECONDS).')
@minValue(1)
@maxValue(300)
param standbyPollSeconds int

param appInsightsConnectionString string

@allowed([2048, 4096])
param instanceMemoryMB int

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

param tags object

var deploymentContainerName = 'app-package-${take(functionAppName, 32)}'
// Storage Blob Data Owner: the Functions host keeps its leases and the Flex deployment package in blobs.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // Names exactly as in the product contract (shared spec, "app settings").
      appSettings: [
        {
          name: 'AzureWebJobsStorage__accountName'
          value: storage.name
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: appInsightsConnectionString
        }
        {
          name: 'DATAVERSE_URL'
          value: dataverseUrl
        }
        {
          name: 'SERVICEBUS_NAMESPACE'
          value: serviceBusNamespace
        }
        {
          name: 'OUTBOX_SCOPE'
          value: outboxScope
        }
        // The acknowledgements trigger: connection 'SERVICEBUS_CONNECTION_STRING' in its identity-based form (the
        // managed identity, no secret) and queueName '%OUTBOX_ACK_QUEUE%'. Without both the app does not start.
        {
          name: 'SERVICEBUS_CONNECTION_STRING__fullyQualifiedNamespace'
          value: serviceBusNamespace
        }
        {
          name: 'OUTBOX_ACK_QUEUE'
          value: ackQueueName
        }
        // The canary (issue 21): the responder trigger's queue, and the timer's target (the same queue, or empty: off).
        {
          name: 'OUTBOX_CANARY_QUEUE'
          value: canaryQueueName
        }
        {
          name: 'OUTBOX_CANARY_TARGET'
          value: canaryTarget
        }
        {
          name: 'OUTBOX_LEASE_DURATION_SECONDS'
          value: string(leaseDurationSeconds)
        }
        {
          name: 'OUTBOX_STANDBY_POLL_SECONDS'
          value: string(standbyPollSeconds)
        }
      ]
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

resource storageRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: storage
  name: guid(storage.id, functionApp.id, storageBlobDataOwner)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = functionApp.name
output principalId string = functionApp.identity.principalId
output defaultHostName string = functionApp.properties.defaultHostName
