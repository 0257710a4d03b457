// An Azure Container Registry for pimbot's image, made by `azd up` (createContainerRegistry) and
// by the Microsoft 365 Agents Toolkit's provision (m365agents.yml deploys this file on its own,
// before the image is built). No admin user: pushes use the deployer's Entra sign-in, pulls the
// container's managed identity (registry-pull.bicep).

@description('Azure region.')
param location string = resourceGroup().location

@minLength(3)
@maxLength(12)
@description('The deployment\'s namePrefix; the registry is named after it and the resource group (alphanumeric, globally unique).')
param namePrefix string = 'pimbot'

@allowed([
  'Basic'
  'Standard'
  'Premium'
])
@description('Registry tier. Basic holds pimbot\'s images; Premium adds private endpoints, geo-replication and content trust.')
param sku string = 'Basic'

param tags object = {
  app: 'pimbot'
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139: the image is pushed from a workstation, ACR Tasks or CI; pulls need no public access but pushes do, with Entra sign-in only (no admin user)
  // checkov:skip=CKV_AZURE_163: vulnerability scanning is Microsoft Defender for Containers, a subscription plan; CI scans every image before it is pushed (.github/workflows/image.yml)
  // checkov:skip=CKV_AZURE_166: quarantine needs Premium
  // checkov:skip=CKV_AZURE_233: zone redundancy needs Premium
  name: take('${replace(namePrefix, '-', '')}${uniqueString(resourceGroup().id, namePrefix)}', 50)
  location: location
  tags: tags
  sku: {
    name: sku
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
// The names azd and the Toolkit read from a deployment's outputs.
output AZURE_CONTAINER_REGISTRY_NAME string = registry.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.properties.loginServer
