// pimbot on Azure: Azure Bot (Teams channel) -> Container Apps (>= 2 replicas) -> PostgreSQL
// flexible server, logs in Log Analytics, telemetry in a workspace-based Application Insights.
// No credential by default: the container's user-assigned managed identity signs in as the bot's
// app registration (a federated credential on it), to PostgreSQL and to Application Insights
// (Microsoft Entra authentication); Key Vault holds the Application Insights connection string
// and a secret only where one is chosen.
// Deploy into an existing resource group:
//
//   az deployment group create -g <rg> -p infra/example.bicepparam     (by hand)
//   azd up                                   (azure.yaml, infra/main.parameters.json)
//   Microsoft 365 Agents Toolkit: provision  (m365agents.yml, infra/toolkit.parameters.json)
//
// Every parameter is described in infra/README.md.

targetScope = 'resourceGroup'

@description('Azure region for everything but the (global) Azure Bot.')
param location string = resourceGroup().location

@minLength(3)
@maxLength(12)
@description('Short lower-case prefix for resource names, e.g. pimbot or pimbot-prod.')
param namePrefix string = 'pimbot'

@description('Container image to run, e.g. myregistry.azurecr.io/pimbot:0.1.0 (built from the repository Dockerfile). Empty: the image the app runs now (appExists), or a placeholder until `azd deploy` puts pimbot\'s image in.')
param image string = ''

@description('The container app exists already (azd sets it from SERVICE_PIMBOT_RESOURCE_EXISTS): an empty image keeps the image it runs.')
param appExists bool = false

@description('Name of an Azure Container Registry in this resource group to pull the image from with the managed identity; empty for a registry that needs no credentials, or with createContainerRegistry.')
param containerRegistryName string = ''

@description('Create an Azure Container Registry for the image (what `azd up` does); the managed identity pulls from it.')
param createContainerRegistry bool = false

@description('E-mail addresses the alerts (failed jobs, Graph 5xx/429, readiness) are sent to; empty: they fire in Azure Monitor only.')
param alertEmails array = []

@description('MicrosoftAppId: client id of the bot\'s single-tenant Entra app registration.')
param microsoftAppId string

@allowed([
  'federatedIdentity'
  'secret'
])
@description('PIMBOT_APP_CREDENTIAL: federatedIdentity (the app registration trusts the managed identity; no secret exists) or secret (microsoftAppPassword, kept in Key Vault).')
param appCredential string = 'federatedIdentity'

@secure()
@description('MicrosoftAppPassword, only with appCredential=secret: a client secret of that app registration. Stored in Key Vault only.')
param microsoftAppPassword string = ''

@description('Expiry of that client secret as Unix seconds (as shown in Entra), recorded on the Key Vault secret; ignored without one.')
param microsoftAppPasswordExpiry int = 0

@description('The Entra tenant pimbot manages and the app registration lives in (MicrosoftAppTenantId, PIMBOT_TENANT_ID).')
param tenantId string = subscription().tenantId

@allowed([
  'bot'
  'pim'
])
@description('PIMBOT_ENGINE: bot (pimbot approves and activates app-only; tier-0 permission) or pim (PIM decides, with each person\'s delegated token).')
param engine string = 'bot'

@description('PIMBOT_GRAPH_CLIENT_ID: optional separate app registration for Graph; empty to use MicrosoftAppId.')
param graphClientId string = ''

@secure()
@description('PIMBOT_GRAPH_CLIENT_SECRET for graphClientId; empty when graphClientId is empty.')
param graphClientSecret string = ''

@description('Expiry of graphClientSecret as Unix seconds (ignored when it is empty).')
param graphClientSecretExpiry int = 0

@description('PIMBOT_TEAMS_CATALOG_APP_ID: the app id Teams admin center shows after the app package is uploaded; lets pimbot install itself for approvers who never opened it. Empty until then.')
param teamsCatalogAppId string = ''

@description('PIMBOT_APPROVERS_CHANNEL_ID: a channel (19:...@thread.tacv2) for approval cards when installing for an approver is refused; empty for none.')
param approversChannelId string = ''

@minValue(0)
@description('PIMBOT_EXPIRY_WARNING_MINUTES: how long before an activation ends people are warned.')
param expiryWarningMinutes int = 15

@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
@description('PIMBOT_LOG_LEVEL.')
param logLevel string = 'INFO'

@minValue(2)
@description('Fewest container replicas.')
param minReplicas int = 2

@description('Most container replicas.')
param maxReplicas int = 4

@description('Spread the container replicas over availability zones (the region must have zones).')
param zoneRedundant bool = true

@description('Object id of the Microsoft Entra group that administers PostgreSQL (creates pimbot\'s role, infra/postgres/grants.sql). pimbot itself is not an administrator.')
param postgresEntraAdminObjectId string

@description('Display name of that group.')
param postgresEntraAdminName string

@allowed([
  'Group'
  'User'
  'ServicePrincipal'
])
@description('Kind of principal postgresEntraAdminObjectId is.')
param postgresEntraAdminType string = 'Group'

@description('PostgreSQL compute tier.')
@allowed([
  'Burstable'
  'GeneralPurpose'
  'MemoryOptimized'
])
param postgresSkuTier string = 'Burstable'

@description('PostgreSQL compute SKU.')
param postgresSkuName string = 'Standard_B1ms'

@description('PostgreSQL storage in GiB.')
param postgresStorageSizeGB int = 32

@minValue(7)
@maxValue(35)
@description('PostgreSQL point-in-time-restore window in days.')
param postgresBackupRetentionDays int = 35

@description('Keep PostgreSQL backups in the paired region too.')
param postgresGeoRedundantBackup bool = true

@description('A zone-redundant PostgreSQL standby (GeneralPurpose or MemoryOptimized only).')
param postgresHighAvailability bool = false

@description('Address space of the virtual network; the three subnets below lie in it.')
param vnetAddressPrefix string = '10.40.0.0/22'

@description('Subnet of the Container Apps environment (a /27 or larger; delegated to Microsoft.App/environments).')
param appsSubnetPrefix string = '10.40.0.0/23'

@description('Subnet delegated to the PostgreSQL flexible server.')
param postgresSubnetPrefix string = '10.40.2.0/24'

@description('Subnet for the Key Vault private endpoint.')
param endpointsSubnetPrefix string = '10.40.3.0/24'

@minValue(30)
@maxValue(730)
@description('Days Log Analytics keeps logs.')
param logRetentionDays int = 90

@allowed([
  'F0'
  'S1'
])
@description('Azure Bot pricing tier.')
param botSku string = 'F0'

@description('Display name of the Azure Bot.')
param botDisplayName string = 'pimbot'

@description('Name of the Azure Bot\'s OAuth connection behind the sign-in button: the bot resource\'s connection and PIMBOT_OAUTH_CONNECTION both take it, so they cannot disagree.')
param oauthConnectionName string = 'pimbot-sso'

@description('Tags put on every resource.')
param tags object = {
  app: 'pimbot'
}

var suffix = uniqueString(resourceGroup().id, namePrefix)
// Until the first `azd deploy` pushes pimbot's image, the app runs a public placeholder (which
// fails pimbot's probes: nothing is routed to it); `azd up` replaces it minutes later.
var placeholderImage = 'mcr.microsoft.com/k8se/quickstart:latest'
var registryName = createContainerRegistry ? registry.outputs.name : containerRegistryName
var databaseName = 'pimbot'
var identityName = '${namePrefix}-identity'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    name: '${namePrefix}-logs'
    retentionInDays: logRetentionDays
    applicationInsightsName: '${namePrefix}-insights'
    publisherPrincipalId: identity.outputs.principalId
    tags: tags
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    namePrefix: namePrefix
    addressPrefix: vnetAddressPrefix
    appsSubnetPrefix: appsSubnetPrefix
    postgresSubnetPrefix: postgresSubnetPrefix
    endpointsSubnetPrefix: endpointsSubnetPrefix
    tags: tags
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    name: identityName
    tags: tags
  }
}

module registry 'modules/registry.bicep' = if (createContainerRegistry) {
  name: 'registry'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
  }
}

module registryPull 'modules/registry-pull.bicep' = if (createContainerRegistry || !empty(containerRegistryName)) {
  name: 'registry-pull'
  params: {
    registryName: registryName
    principalId: identity.outputs.principalId
  }
}

module currentImage 'modules/current-image.bicep' = if (empty(image) && appExists) {
  name: 'current-image'
  params: {
    appName: namePrefix
  }
}

module postgres 'modules/postgres.bicep' = {
  name: 'postgres'
  params: {
    location: location
    name: '${namePrefix}-pg-${suffix}'
    entraAdministratorObjectId: postgresEntraAdminObjectId
    entraAdministratorName: postgresEntraAdminName
    entraAdministratorType: postgresEntraAdminType
    tenantId: tenantId
    skuTier: postgresSkuTier
    skuName: postgresSkuName
    storageSizeGB: postgresStorageSizeGB
    backupRetentionDays: postgresBackupRetentionDays
    geoRedundantBackup: postgresGeoRedundantBackup
    highAvailability: postgresHighAvailability
    delegatedSubnetId: network.outputs.postgresSubnetId
    privateDnsZoneId: network.outputs.postgresDnsZoneId
    logAnalyticsWorkspaceId: monitoring.outputs.id
    databaseName: databaseName
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    location: location
    name: take('${namePrefix}-kv-${suffix}', 24)
    readerPrincipalId: identity.outputs.principalId
    endpointsSubnetId: network.outputs.endpointsSubnetId
    privateDnsZoneId: network.outputs.vaultDnsZoneId
    logAnalyticsWorkspaceId: monitoring.outputs.id
    microsoftAppPassword: appCredential == 'secret' ? microsoftAppPassword : ''
    microsoftAppPasswordExpiry: microsoftAppPasswordExpiry
    graphClientSecret: graphClientSecret
    graphClientSecretExpiry: graphClientSecretExpiry
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    tags: tags
  }
}

module app 'modules/containerapp.bicep' = {
  name: 'containerapp'
  params: {
    location: location
    namePrefix: namePrefix
    image: !empty(image) ? image : (appExists ? currentImage.outputs.image : placeholderImage)
    registryServer: createContainerRegistry || !empty(containerRegistryName) ? registryPull.outputs.loginServer : ''
    identityId: identity.outputs.id
    appsSubnetId: network.outputs.appsSubnetId
    logAnalyticsWorkspaceName: monitoring.outputs.name
    serviceName: 'pimbot'
    zoneRedundant: zoneRedundant
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    microsoftAppId: microsoftAppId
    tenantId: tenantId
    engine: engine
    graphClientId: graphClientId
    teamsCatalogAppId: teamsCatalogAppId
    approversChannelId: approversChannelId
    expiryWarningMinutes: expiryWarningMinutes
    logLevel: logLevel
    oauthConnectionName: oauthConnectionName
    appCredential: appCredential
    managedIdentityClientId: identity.outputs.clientId
    appPasswordSecretUri: vault.outputs.appPasswordUri
    // No password in it: the role is the managed identity's name, its Entra token the password.
    databaseUrl: 'postgresql://${uriComponent(identityName)}@${postgres.outputs.fqdn}:5432/${databaseName}?sslmode=verify-full'
    graphClientSecretUri: vault.outputs.graphClientSecretUri
    applicationInsightsConnectionStringUri: vault.outputs.applicationInsightsConnectionStringUri
    tags: tags
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    location: location
    namePrefix: namePrefix
    workspaceId: monitoring.outputs.id
    appName: app.outputs.name
    emails: alertEmails
    failedJobsThreshold: 3
    graphErrorPercent: 10
    graphMinimumResponses: 20
    tags: tags
  }
}

module bot 'modules/bot.bicep' = {
  name: 'bot'
  params: {
    name: '${namePrefix}-bot-${suffix}'
    displayName: botDisplayName
    messagingEndpoint: app.outputs.messagingEndpoint
    microsoftAppId: microsoftAppId
    microsoftAppPassword: appCredential == 'secret' ? microsoftAppPassword : ''
    tenantId: tenantId
    connectionName: oauthConnectionName
    sku: botSku
    tags: tags
  }
}

output messagingEndpoint string = app.outputs.messagingEndpoint
output containerAppFqdn string = app.outputs.fqdn
output botName string = bot.outputs.name
output keyVaultName string = vault.outputs.name
output postgresFqdn string = postgres.outputs.fqdn
output applicationInsightsName string = monitoring.outputs.applicationInsightsName
output managedIdentityClientId string = identity.outputs.clientId
output managedIdentityPrincipalId string = identity.outputs.principalId
// The federated credential to add to the app registration (docs/deploy.md §3) and the
// PostgreSQL role to create for the identity (infra/postgres/grants.sql).
output federatedCredentialIssuer string = '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
output federatedCredentialSubject string = identity.outputs.principalId
output postgresRole string = identityName
// The names azd and the Microsoft 365 Agents Toolkit read (each writes outputs to its env file):
// the registry to push to, and the host name the Teams app package needs.
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = createContainerRegistry || !empty(containerRegistryName) ? registryPull.outputs.loginServer : ''
output BOT_DOMAIN string = app.outputs.fqdn
output BOT_ENDPOINT string = 'https://${app.outputs.fqdn}'
