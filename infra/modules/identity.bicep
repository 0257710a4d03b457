// The container's user-assigned managed identity: it reads pimbot's secrets from Key Vault and,
// when a registry is named, pulls the image. No password for either exists anywhere.

@description('Azure region.')
param location string

@description('Name of the managed identity.')
param name string

param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
