// Key Vault for the secrets pimbot still has only when an operator chooses them: the bot's
// client secret (appCredential=secret) and a separate Graph app's secret. The default deployment
// stores no credential: the app registration trusts the managed identity, and PostgreSQL takes
// its Entra token. It always holds the Application Insights connection string (read here from the
// component, so it passes through no output or parameter); with the component's local
// authentication off that string alone cannot write telemetry, but it names the component and
// its ingestion endpoint, so it is kept like the rest. Reached only through a private endpoint; read by the container's managed identity
// through Azure RBAC.

@description('Azure region.')
param location string

@description('Name of the Key Vault (3-24 characters, globally unique).')
param name string

@description('Principal id of the managed identity that reads the secrets.')
param readerPrincipalId string

@description('Subnet for the private endpoint.')
param endpointsSubnetId string

@description('Private DNS zone privatelink.vaultcore.azure.net.')
param privateDnsZoneId string

@description('Log Analytics workspace for the vault\'s audit log.')
param logAnalyticsWorkspaceId string

@secure()
@description('Client secret of the bot\'s Entra app registration (MicrosoftAppPassword); empty for none.')
param microsoftAppPassword string

@description('When the client secret expires in Entra, as Unix seconds; Key Vault shows it and can raise near-expiry events.')
param microsoftAppPasswordExpiry int

@secure()
@description('Optional PIMBOT_GRAPH_CLIENT_SECRET, when Graph uses its own app registration; empty for none.')
param graphClientSecret string

@description('When the Graph client secret expires, as Unix seconds (ignored without a Graph client secret).')
param graphClientSecretExpiry int

@description('Name of the Application Insights component (same resource group) whose connection string is stored.')
param applicationInsightsName string

param tags object

// Key Vault Secrets User: read secret values, nothing else.
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'premium'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      defaultAction: 'Deny'
      bypass: 'AzureServices'
      ipRules: []
      virtualNetworkRules: []
    }
  }
}

module appPassword 'vault-secret.bicep' = if (!empty(microsoftAppPassword)) {
  name: 'microsoft-app-password'
  params: {
    vaultName: vault.name
    name: 'microsoft-app-password'
    value: microsoftAppPassword
    contentType: 'text/plain; Entra client secret'
    expiresOn: microsoftAppPasswordExpiry
  }
}

module graphSecret 'vault-secret.bicep' = if (!empty(graphClientSecret)) {
  name: 'graph-client-secret'
  params: {
    vaultName: vault.name
    name: 'graph-client-secret'
    value: graphClientSecret
    contentType: 'text/plain; Entra client secret'
    expiresOn: graphClientSecretExpiry
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

module insightsConnection 'vault-secret.bicep' = {
  name: 'applicationinsights-connection-string'
  params: {
    vaultName: vault.name
    name: 'applicationinsights-connection-string'
    value: insights.properties.ConnectionString
    contentType: 'text/plain; Application Insights connection string'
    expiresOn: 0
  }
}

resource readSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
  }
}

resource endpoint 'Microsoft.Network/privateEndpoints@2023-11-01' = {
  name: '${name}-pe'
  location: location
  tags: tags
  properties: {
    subnet: {
      id: endpointsSubnetId
    }
    privateLinkServiceConnections: [
      {
        name: 'vault'
        properties: {
          privateLinkServiceId: vault.id
          groupIds: [
            'vault'
          ]
        }
      }
    ]
  }
}

resource endpointDns 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2023-11-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: 'vault'
        properties: {
          privateDnsZoneId: privateDnsZoneId
        }
      }
    ]
  }
}

resource auditLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output appPasswordUri string = empty(microsoftAppPassword) ? '' : appPassword.outputs.uri
output applicationInsightsConnectionStringUri string = insightsConnection.outputs.uri
output graphClientSecretUri string = empty(graphClientSecret) ? '' : graphSecret.outputs.uri
