// The Azure Bot resource that connects Teams to pimbot's /api/messages, and its Teams channel.

@description('Name of the Azure Bot resource (globally unique handle).')
param name string

@description('Display name people see in Teams until the app manifest overrides it.')
param displayName string

@description('https://<host>/api/messages of the container app.')
param messagingEndpoint string

@description('MicrosoftAppId: the client id of the bot\'s Entra app registration.')
param microsoftAppId string

@secure()
@description('Client secret of that app registration for the Bot Service sign-in fallback connection; empty (the default, no secret) leaves that connection to be added in the portal (docs/deploy.md).')
param microsoftAppPassword string

@description('MicrosoftAppTenantId: the tenant of that app registration.')
param tenantId string

@description('Name of the OAuth connection behind the sign-in button; the container gets the same name as PIMBOT_OAUTH_CONNECTION.')
param connectionName string

@allowed([
  'F0'
  'S1'
])
@description('F0 is free (Teams is a standard channel: no message charges either way).')
param sku string

param tags object

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  kind: 'azurebot'
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    displayName: displayName
    endpoint: messagingEndpoint
    msaAppId: microsoftAppId
    msaAppType: 'SingleTenant'
    msaAppTenantId: tenantId
    // The Teams service must reach the Bot Service; pimbot's own endpoint is checked by JWT.
    publicNetworkAccess: 'Enabled'
    // No channel keys (Direct Line, Web Chat): Teams authenticates with Entra-issued tokens.
    disableLocalAuth: true
  }
}

resource teams 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
      enableCalling: false
    }
  }
}

// Teams SSO: pimbot's sign-in card names this connection (PIMBOT_OAUTH_CONNECTION, set from the
// same main.bicep parameter); Teams exchanges the token silently and falls
// back to the card's Sign in button, the token service's sign-in page for this connection.
// pimbot redeems that sign-in (signin/verifyState) for the person's token for its own API
// (scope access_as_user), validated and exchanged on-behalf-of exactly as an SSO token. The
// connection needs a secret, so it exists here only when one is given.
resource sso 'Microsoft.BotService/botServices/connections@2022-09-15' = if (!empty(microsoftAppPassword)) {
  parent: bot
  name: connectionName
  location: 'global'
  properties: {
    // Azure Active Directory v2
    serviceProviderId: '30dd229c-58e3-4a48-bdfd-91ec48eb906c'
    clientId: microsoftAppId
    clientSecret: microsoftAppPassword
    scopes: 'openid profile offline_access api://botid-${microsoftAppId}/access_as_user'
    parameters: [
      {
        key: 'tenantID'
        value: tenantId
      }
      {
        key: 'tokenExchangeUrl'
        value: 'api://botid-${microsoftAppId}'
      }
    ]
  }
}

output name string = bot.name
