// Azure Database for PostgreSQL flexible server: pimbot's one source of state for all replicas
// (requests, jobs, the hash-chained audit log). Private access only, TLS required, backed up.
// Microsoft Entra authentication only: no password exists. pimbot signs in as its managed
// identity, through a least-privileged role (infra/postgres/grants.sql), not as the administrator.

@description('Azure region.')
param location string

@description('Server name (globally unique).')
param name string

@description('Object id of the Microsoft Entra group (or user) that administers the server; pimbot is not it.')
param entraAdministratorObjectId string

@description('Display name of that group or user.')
param entraAdministratorName string

@allowed([
  'Group'
  'User'
  'ServicePrincipal'
])
@description('Kind of principal the administrator is.')
param entraAdministratorType string

@description('Tenant of the administrator.')
param tenantId string

@description('Compute tier and SKU, e.g. Burstable/Standard_B1ms for a pilot, GeneralPurpose/Standard_D2ds_v5 with high availability.')
param skuTier string
param skuName string

@description('Storage size in GiB.')
param storageSizeGB int

@description('Days of point-in-time restore.')
@minValue(7)
@maxValue(35)
param backupRetentionDays int

@description('Keep backups in the paired region too.')
param geoRedundantBackup bool

@description('A zone-redundant standby (needs the GeneralPurpose or MemoryOptimized tier).')
param highAvailability bool

@description('Delegated subnet for the server.')
param delegatedSubnetId string

@description('Private DNS zone ending in .postgres.database.azure.com.')
param privateDnsZoneId string

@description('Log Analytics workspace for the server\'s logs.')
param logAnalyticsWorkspaceId string

@description('Name of the database pimbot uses.')
param databaseName string

param tags object

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2023-06-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: '16'
    authConfig: {
      passwordAuth: 'Disabled'
      activeDirectoryAuth: 'Enabled'
      tenantId: tenantId
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: geoRedundantBackup ? 'Enabled' : 'Disabled'
    }
    highAvailability: {
      mode: highAvailability ? 'ZoneRedundant' : 'Disabled'
    }
    network: {
      delegatedSubnetResourceId: delegatedSubnetId
      privateDnsZoneArmResourceId: privateDnsZoneId
      publicNetworkAccess: 'Disabled'
    }
  }
}

resource entraAdministrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2023-06-01-preview' = {
  parent: server
  name: entraAdministratorObjectId
  properties: {
    principalName: entraAdministratorName
    principalType: entraAdministratorType
    tenantId: tenantId
  }
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2023-06-01-preview' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// TLS is the server default; pin it so nobody turns it off by accident.
resource requireTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2023-06-01-preview' = {
  parent: server
  name: 'require_secure_transport'
  properties: {
    value: 'on'
    source: 'user-override'
  }
}

resource logConnections 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2023-06-01-preview' = {
  parent: server
  name: 'log_connections'
  properties: {
    value: 'on'
    source: 'user-override'
  }
  dependsOn: [
    requireTls
  ]
}

resource serverLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: server
  name: 'logs-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output fqdn string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
