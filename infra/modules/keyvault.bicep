// Key Vault holding pimbot's two secrets: the bot's client secret and the database URL (which
// carries the PostgreSQL password). Reached only through a private endpoint; read by the
// container's managed identity through Azure RBAC.

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
@description('Client secret of the bot\'s Entra app registration (MicrosoftAppPassword).')
param microsoftAppPassword string

@description('When the client secret expires in Entra, as Unix seconds; Key Vault shows it and can raise near-expiry events.')
param microsoftAppPasswordExpiry int

@secure()
@description('PIMBOT_DATABASE_URL, with the PostgreSQL login and password in it.')
param databaseUrl string

@secure()
@description('Optional PIMBOT_GRAPH_CLIENT_SECRET, when Graph uses its own app registration; empty for none.')
param graphClientSecret string

@description('When the Graph client secret expires, as Unix seconds (ignored without a Graph client secret).')
param graphClientSecretExpiry int

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

resource appPassword 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'microsoft-app-password'
  properties: {
    value: microsoftAppPassword
    contentType: 'text/plain; Entra client secret'
    attributes: {
      enabled: true
      exp: microsoftAppPasswordExpiry
    }
  }
}

resource dbUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the PostgreSQL password has no natural expiry date; rotating it is a runbook step (docs/deploy.md), and an expiry would only add a way for every replica to lose its database.
  parent: vault
  name: 'database-url'
  properties: {
    value: databaseUrl
    contentType: 'text/plain; PostgreSQL URL'
    attributes: {
      enabled: true
    }
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
output appPasswordUri string = appPassword.properties.secretUri
output databaseUrlUri string = dbUrl.properties.secretUri
output graphClientSecretUri string = empty(graphClientSecret) ? '' : graphSecret.outputs.uri
