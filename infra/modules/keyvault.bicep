// Every secret of the control plane, read by the app through Key Vault references with its managed identity.
// The control database's connection string is written here by the deployment; the others are set by the operator
// (docs/DEPLOYMENT.md lists them and the command for each), so no secret value passes through a parameter file.
param name string
param location string
param tags object
param identityPrincipalId string

@secure()
@description('The control database connection string (Npgsql form, TLS required).')
param controlDatabaseConnectionString string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

// Key Vault Secrets User
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, '4633458b-17de-408a-b874-0445c86b69e6')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource controlDatabase 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'control-database'
  properties: {
    value: controlDatabaseConnectionString
    contentType: 'Npgsql connection string'
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
