// Log Analytics: where the Container Apps console logs and the Key Vault / PostgreSQL audit
// logs go; and a workspace-based Application Insights component on that workspace, where
// pimbot's OpenTelemetry traces, metrics and log records go (bot/telemetry.py). Its data lands in
// the same workspace (AppTraces, AppDependencies, AppMetrics, ...), under the same retention.
//
// Local authentication is off (DisableLocalAuth): the instrumentation key in the connection
// string alone no longer lets anyone write telemetry; only Microsoft Entra-authenticated callers
// holding Monitoring Metrics Publisher on the component can. pimbot's managed identity gets that
// role here, and pimbot presents its token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING, set by
// containerapp.bicep). https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication

@description('Azure region.')
param location string

@description('Name of the Log Analytics workspace.')
param name string

@description('Days to keep logs. Audit evidence for privileged access is usually kept for 90 days or more.')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Principal id of the managed identity that sends telemetry (Monitoring Metrics Publisher on the component).')
param publisherPrincipalId string

param tags object

// Monitoring Metrics Publisher: despite its name, it publishes all telemetry to Application
// Insights, and nothing else.
var metricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

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

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    Flow_Type: 'Bluefield'
    Request_Source: 'rest'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: true
    DisableIpMasking: false
    // Ingestion comes from the container's outbound traffic over the internet (there is no
    // Azure Monitor Private Link Scope here); with local authentication off it accepts only
    // Entra-authenticated telemetry from holders of the role below.
    publicNetworkAccessForIngestion: 'Enabled'
    publicNetworkAccessForQuery: 'Enabled'
  }
}

resource publishTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: insights
  name: guid(insights.id, publisherPrincipalId, metricsPublisherRoleId)
  properties: {
    principalId: publisherPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisherRoleId)
  }
}

output id string = workspace.id
output name string = workspace.name
output customerId string = workspace.properties.customerId
// The component's name only: its connection string goes into Key Vault (keyvault.bicep reads it
// there), never through an output.
output applicationInsightsName string = insights.name
output applicationInsightsId string = insights.id
