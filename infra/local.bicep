// Local debugging with the Microsoft 365 Agents Toolkit (m365agents.local.yml): only an Azure Bot
// (free tier, Teams channel, the SSO connection) that sends Teams to the dev tunnel in front of
// `pimbot serve` on this machine. Everything else runs locally (SQLite under var/).

@description('Messaging endpoint base: the dev tunnel\'s https URL (BOT_ENDPOINT).')
param botEndpoint string

@description('MicrosoftAppId of the local app registration (BOT_ID).')
param microsoftAppId string

@secure()
@description('Its client secret (SECRET_BOT_PASSWORD), for the Bot Service SSO connection.')
param microsoftAppPassword string

@description('The tenant of the app registration (AAD_APP_TENANT_ID).')
param tenantId string = subscription().tenantId

@minLength(3)
@maxLength(20)
@description('Prefix of the Azure Bot\'s name.')
param namePrefix string = 'pimbot-local'

module bot 'modules/bot.bicep' = {
  name: 'bot'
  params: {
    name: '${namePrefix}-${uniqueString(resourceGroup().id, microsoftAppId)}'
    displayName: 'pimbot (local)'
    messagingEndpoint: '${botEndpoint}/api/messages'
    microsoftAppId: microsoftAppId
    microsoftAppPassword: microsoftAppPassword
    tenantId: tenantId
    sku: 'F0'
    tags: {
      app: 'pimbot'
      purpose: 'local-debugging'
    }
  }
}

output botName string = bot.outputs.name
