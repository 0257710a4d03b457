// Log Analytics: where the Container Apps console logs and the Key Vault / PostgreSQL audit
// logs go.

@description('Azure region.')
param location string

@description('Name of the Log Analytics workspace.')
param name string

@description('Days to keep logs. Audit evidence for privileged access is usually kept for 90 days or more.')
@minValue(30)
@maxValue(730)
param retentionInDays int

param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

output id string = workspace.id
output name string = workspace.name
output customerId string = workspace.properties.customerId
