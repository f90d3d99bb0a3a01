// The app's one identity: it reads Key Vault references, the Durable Azure Storage backend and the deployment
// container with it, and publishes telemetry with it. No account key, no connection string with a secret.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
