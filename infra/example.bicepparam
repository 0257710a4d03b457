// Example parameters; pass the secure ones on the command line (see infra/README.md).
using 'main.bicep'

param namePrefix = 'pimbot'
param image = 'contoso.azurecr.io/pimbot:0.1.0'
param containerRegistryName = 'contoso'
param microsoftAppId = '00000000-0000-0000-0000-000000000000'
param microsoftAppPasswordExpiry = 1814400000
param engine = 'bot'
param microsoftAppPassword = readEnvironmentVariable('PIMBOT_APP_SECRET')
param postgresAdministratorPassword = readEnvironmentVariable('PIMBOT_PG_PASSWORD')
