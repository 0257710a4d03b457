// One Key Vault secret with an expiry (a module, so that a deployment can add it conditionally).

@description('Name of the existing Key Vault.')
param vaultName string

@description('Name of the secret.')
param name string

@secure()
@description('The secret value.')
param value string

@description('What the value is (Key Vault contentType).')
param contentType string

@description('When the value stops working, as Unix seconds.')
param expiresOn int

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: name
  properties: {
    value: value
    contentType: contentType
    attributes: {
      enabled: true
      exp: expiresOn
    }
  }
}

output uri string = secret.properties.secretUri
