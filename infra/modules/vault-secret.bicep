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

@description('When the value stops working, as Unix seconds; 0 for a value that does not expire (no exp attribute: Key Vault treats a secret past its exp as expired).')
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
    // checkov:skip=CKV_AZURE_41: an expiry is set whenever the value has one (client secrets); the Application Insights connection string never expires
    attributes: expiresOn > 0 ? {
      enabled: true
      exp: expiresOn
    } : {
      enabled: true
    }
  }
}

output uri string = secret.properties.secretUri
