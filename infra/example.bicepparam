// Example parameters: no secret anywhere (the managed identity signs in; see infra/README.md).
using 'main.bicep'

param namePrefix = 'pimbot'
param image = 'contoso.azurecr.io/pimbot:0.1.0'
param containerRegistryName = 'contoso'
param microsoftAppId = '00000000-0000-0000-0000-000000000000'
param postgresEntraAdminObjectId = '00000000-0000-0000-0000-000000000001'
param postgresEntraAdminName = 'pimbot-db-admins'
param engine = 'bot'
