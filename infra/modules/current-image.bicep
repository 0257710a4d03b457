// The image the container app runs now, so that provisioning again (`azd provision`, `azd up`)
// keeps what `azd deploy` put there instead of going back to the placeholder.

@description('Name of the existing container app.')
param appName string

resource app 'Microsoft.App/containerApps@2024-03-01' existing = {
  name: appName
}

output image string = app.properties.template.containers[0].image
