// Azure Container Apps: the Container Apps environment (in the private network, logging to Log
// Analytics) and pimbot itself, at least two replicas behind HTTPS ingress.
//
// The environment variables below are exactly the settings of bot/settings.py that a deployment
// sets; tests/deploy checks the names against it. By default there is no secret at all (the
// managed identity signs in); a secret an operator still chooses is a Key Vault reference read
// with the managed identity, never a value in the template.

@description('Azure region.')
param location string

@description('Prefix for resource names.')
param namePrefix string

@description('Container image, e.g. myregistry.azurecr.io/pimbot:1.2.0.')
param image string

@description('The azd service this app is (tag azd-service-name: azd finds the app by it).')
param serviceName string

@description('Login server of an Azure Container Registry to pull from with the managed identity; empty for a public image.')
param registryServer string

@description('Resource id of the user-assigned managed identity.')
param identityId string

@description('Subnet for the Container Apps environment (delegated to Microsoft.App/environments).')
param appsSubnetId string

@description('Log Analytics workspace name (same resource group).')
param logAnalyticsWorkspaceName string

@description('Spread replicas over availability zones (the region must have zones).')
param zoneRedundant bool

@minValue(2)
@description('Fewest replicas; two or more keep pimbot answering while one restarts.')
param minReplicas int

@description('Most replicas.')
param maxReplicas int

@description('MicrosoftAppId: the client id of the bot\'s Entra app registration.')
param microsoftAppId string

@description('MicrosoftAppTenantId and PIMBOT_TENANT_ID: the Entra tenant.')
param tenantId string

@allowed([
  'bot'
  'pim'
])
@description('PIMBOT_ENGINE.')
param engine string

@description('PIMBOT_GRAPH_CLIENT_ID: a separate app registration for Graph; empty to use MicrosoftAppId.')
param graphClientId string

@description('PIMBOT_TEAMS_CATALOG_APP_ID: the app\'s id in the tenant\'s Teams app catalog; empty until the app is uploaded.')
param teamsCatalogAppId string

@description('PIMBOT_APPROVERS_CHANNEL_ID: channel for approval cards when the app cannot be installed for an approver; empty for none.')
param approversChannelId string

@description('PIMBOT_EXPIRY_WARNING_MINUTES.')
param expiryWarningMinutes int

@description('PIMBOT_LOG_LEVEL.')
param logLevel string

@description('PIMBOT_OAUTH_CONNECTION: the Azure Bot\'s OAuth connection (bot.bicep connectionName).')
param oauthConnectionName string

@allowed([
  'federatedIdentity'
  'secret'
])
@description('PIMBOT_APP_CREDENTIAL: how the app registration proves itself.')
param appCredential string

@description('PIMBOT_MANAGED_IDENTITY_CLIENT_ID: client id of the user-assigned identity (identityId).')
param managedIdentityClientId string

@description('PIMBOT_DATABASE_URL: no password in it; the managed identity\'s Entra token is the password.')
param databaseUrl string

@description('Key Vault secret URIs (versionless, so a rotated secret is picked up); empty for none.')
param appPasswordSecretUri string
param graphClientSecretUri string

@description('Key Vault secret URI (versionless) of the Application Insights connection string.')
param applicationInsightsConnectionStringUri string

param tags object

var port = 3978
// Prometheus /metrics listens on its own port, which the ingress does not expose (only
// targetPort is; the app declares no additional port mappings): scrape it from a collector sidecar in
// the same replica (localhost:9464).
var metricsPort = 9464

var appSecrets = empty(appPasswordSecretUri) ? [] : [
  {
    name: 'microsoft-app-password'
    keyVaultUrl: appPasswordSecretUri
    identity: identityId
  }
]

var graphSecrets = empty(graphClientSecretUri) ? [] : [
  {
    name: 'graph-client-secret'
    keyVaultUrl: graphClientSecretUri
    identity: identityId
  }
]

// pimbot exports its traces, metrics and log records to Application Insights (bot/telemetry.py).
// The component accepts Entra-authenticated telemetry only (monitoring.bicep, DisableLocalAuth),
// so pimbot presents the managed identity's token: Authorization=AAD with the identity's client
// id, the form of APPLICATIONINSIGHTS_AUTHENTICATION_STRING Azure Monitor documents.
var telemetrySecrets = [
  {
    name: 'applicationinsights-connection-string'
    keyVaultUrl: applicationInsightsConnectionStringUri
    identity: identityId
  }
]

var telemetryEnv = [
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    // checkov:skip=CKV_SECRET_6: the name of a Key Vault reference, not a secret
    secretRef: 'applicationinsights-connection-string'
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'Authorization=AAD;ClientId=${managedIdentityClientId}'
  }
]

var baseEnv = [
  {
    name: 'MicrosoftAppId'
    value: microsoftAppId
  }
  {
    name: 'MicrosoftAppType'
    value: 'SingleTenant'
  }
  {
    // federated_identity or secret; Container Apps itself sets IDENTITY_ENDPOINT and
    // IDENTITY_HEADER for the identity.
    name: 'PIMBOT_APP_CREDENTIAL'
    value: appCredential == 'secret' ? 'secret' : 'federated_identity'
  }
  {
    name: 'PIMBOT_MANAGED_IDENTITY_CLIENT_ID'
    value: managedIdentityClientId
  }
  {
    name: 'MicrosoftAppTenantId'
    value: tenantId
  }
  {
    name: 'PIMBOT_TENANT_ID'
    value: tenantId
  }
  {
    name: 'PIMBOT_ENGINE'
    value: engine
  }
  {
    name: 'PIMBOT_DATABASE_URL'
    value: databaseUrl
  }
  {
    name: 'PIMBOT_DATABASE_AUTH'
    value: 'managed_identity'
  }
  {
    name: 'PIMBOT_EXPIRY_WARNING_MINUTES'
    value: string(expiryWarningMinutes)
  }
  {
    name: 'PIMBOT_LOG_LEVEL'
    value: logLevel
  }
  {
    name: 'PIMBOT_OAUTH_CONNECTION'
    value: oauthConnectionName
  }
  {
    name: 'PORT'
    value: string(port)
  }
  {
    name: 'PIMBOT_METRICS_PORT'
    value: string(metricsPort)
  }
  {
    // The app's own ingress host name, known before the app exists.
    name: 'PIMBOT_PUBLIC_HOSTNAME'
    value: '${namePrefix}.${environment.properties.defaultDomain}'
  }
]

var appSecretEnv = empty(appPasswordSecretUri) ? [] : [
  {
    name: 'MicrosoftAppPassword'
    // checkov:skip=CKV_SECRET_6: the name of a Key Vault reference, not a secret
    secretRef: 'microsoft-app-password'
  }
]

var graphClientEnv = empty(graphClientId) ? [] : [
  {
    name: 'PIMBOT_GRAPH_CLIENT_ID'
    value: graphClientId
  }
]

var graphSecretEnv = empty(graphClientSecretUri) ? [] : [
  {
    name: 'PIMBOT_GRAPH_CLIENT_SECRET'
    // checkov:skip=CKV_SECRET_6: the name of a Key Vault reference, not a secret
    secretRef: 'graph-client-secret'
  }
]

var teamsEnv = concat(empty(teamsCatalogAppId) ? [] : [
  {
    name: 'PIMBOT_TEAMS_CATALOG_APP_ID'
    value: teamsCatalogAppId
  }
], empty(approversChannelId) ? [] : [
  {
    name: 'PIMBOT_APPROVERS_CHANNEL_ID'
    value: approversChannelId
  }
])

var registries = empty(registryServer) ? [] : [
  {
    server: registryServer
    identity: identityId
  }
]

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-env'
  location: location
  tags: tags
  properties: {
    zoneRedundant: zoneRedundant
    vnetConfiguration: {
      infrastructureSubnetId: appsSubnetId
      internal: false
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

// Startup and liveness on /healthz (the process answers), readiness on /readyz (database and Graph
// token endpoint answer, not draining).
var probes = [
  {
    type: 'Startup'
    httpGet: {
      path: '/healthz'
      port: port
    }
    periodSeconds: 5
    failureThreshold: 24
  }
  {
    type: 'Liveness'
    httpGet: {
      path: '/healthz'
      port: port
    }
    periodSeconds: 30
    failureThreshold: 3
  }
  {
    // Out of rotation while the database or the Graph token endpoint is unreachable.
    type: 'Readiness'
    httpGet: {
      path: '/readyz'
      port: port
    }
    periodSeconds: 15
    failureThreshold: 2
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: namePrefix
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      activeRevisionsMode: 'Single'
      // The ingress carries the bot's port only; /metrics (metricsPort) stays inside the replica.
      ingress: {
        external: true
        targetPort: port
        transport: 'http'
        allowInsecure: false
      }
      secrets: concat(appSecrets, graphSecrets, telemetrySecrets)
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'pimbot'
          image: image
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
          env: concat(baseEnv, appSecretEnv, graphClientEnv, graphSecretEnv, teamsEnv, telemetryEnv)
          probes: probes
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            name: 'http'
            http: {
              metadata: {
                concurrentRequests: '50'
              }
            }
          }
        ]
      }
    }
  }
}

output fqdn string = app.properties.configuration.ingress.fqdn
output messagingEndpoint string = 'https://${app.properties.configuration.ingress.fqdn}/api/messages'
output name string = app.name
