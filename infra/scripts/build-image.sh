#!/bin/sh
# Builds pimbot's image from this checkout in an Azure Container Registry (ACR Tasks: no local
# Docker needed) and tells the Microsoft 365 Agents Toolkit its name (PIMBOT_IMAGE).
#   sh infra/scripts/build-image.sh <registry name> [tag]
set -eu
registry="${1:?the registry name (AZURE_CONTAINER_REGISTRY_NAME) is empty: run provision first}"
tag="${2:-$(git rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)}"
az acr build --registry "$registry" --image "pimbot:$tag" --file Dockerfile . --output none
server="$(az acr show --name "$registry" --query loginServer --output tsv)"
echo "::set-teamsfx-env PIMBOT_IMAGE=$server/pimbot:$tag"
