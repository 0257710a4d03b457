#!/bin/sh
# Makes the app registration trust the container's managed identity (docs/deploy.md §3): a
# federated credential with the deployment's outputs federatedCredentialIssuer and
# federatedCredentialSubject, audience api://AzureADTokenExchange. Does nothing when it exists.
#   sh infra/scripts/federated-credential.sh <MicrosoftAppId> <issuer> <subject>
set -eu
app="${1:?MicrosoftAppId is empty}"
issuer="${2:?the issuer (output federatedCredentialIssuer) is empty}"
subject="${3:?the subject (output federatedCredentialSubject) is empty}"
name=pimbot-container
if az ad app federated-credential show --id "$app" --federated-credential-id "$name" >/dev/null 2>&1; then
  echo "federated credential $name exists on $app"
  exit 0
fi
az ad app federated-credential create --id "$app" --output none --parameters \
  "{\"name\": \"$name\", \"issuer\": \"$issuer\", \"subject\": \"$subject\", \"audiences\": [\"api://AzureADTokenExchange\"]}"
echo "federated credential $name added to $app"
