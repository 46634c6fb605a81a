// Log Analytics workspace and workspace-based Application Insights for the publisher's logs, traces and metrics.

param workspaceName string
param appInsightsName string
param location string

@minValue(30)
@maxValue(730)
param retentionInDays int

param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

output appInsightsId string = appInsights.id
output appInsightsName string = appInsights.name
@description('Not a secret (an ingestion address), but still passed as an app setting rather than written anywhere.')
output connectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
