// SetupClaw control plane on Azure: Functions (isolated, .NET 10) with Durable Functions on Azure Storage,
// secrets in Key Vault. Deploy: az deployment group create -g <rg> -f infra/main.bicep -p environmentName=prod
@description('Short environment name; also makes the durable task hub unique per environment.')
param environmentName string
param location string = resourceGroup().location

@description('Neon project holding one branch per customer, and the runtime image Railway deploys.')
param neonProjectId string
@description('The empty Neon template branch customer branches are created from (br-…): no databases, no roles.')
param neonTemplateBranchId string
param railwayProjectId string
param runtimeImage string
@description('anthropic or openai; the model every assistant uses (the key lives in Key Vault as llm-api-key).')
param llmProvider string = 'anthropic'
param llmModel string

var suffix = uniqueString(resourceGroup().id, environmentName)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'stclaw${suffix}'
  location: location
  sku: { name: 'Standard_LRS' }
  kind: 'StorageV2'
  properties: { minimumTlsVersion: 'TLS1_2', allowBlobPublicAccess: false }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-claw-${suffix}'
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-claw-${environmentName}'
  location: location
  sku: { name: 'EP1', tier: 'ElasticPremium' }
  kind: 'elastic'
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: 'func-claw-${environmentName}-${suffix}'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: 'DOTNET-ISOLATED|10.0'
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
        // The site's root is the signup page (host.json: empty routePrefix), not the Functions welcome page.
        { name: 'AzureWebJobsDisableHomepage', value: 'true' }
        { name: 'AzureWebJobsStorage', value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}' }
        { name: 'DurableTaskHubName', value: 'setupclaw${environmentName}' }
        { name: 'App__PublicBaseUrl', value: 'https://func-claw-${environmentName}-${suffix}.azurewebsites.net' }
        { name: 'ConnectionStrings__ControlDatabase', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=control-database)' }
        { name: 'Stripe__SecretKey', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=stripe-secret-key)' }
        { name: 'Stripe__WebhookSecret', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=stripe-webhook-secret)' }
        { name: 'Security__EncryptionKey', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=encryption-key)' }
        { name: 'Security__AdminKey', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=admin-key)' }
        // Rolling a provider back to Local is a change of these two settings.
        { name: 'Sweep__Schedule', value: '0 */5 * * * *' }
        // Azure's front end appends the client's address to X-Forwarded-For: the rate limits key on it.
        { name: 'RateLimits__TrustForwardedFor', value: 'true' }
        { name: 'Providers__Database', value: 'Neon' }
        { name: 'Providers__Compute', value: 'Railway' }
        { name: 'Providers__Neon__ProjectId', value: neonProjectId }
        { name: 'Providers__Neon__ParentBranchId', value: neonTemplateBranchId }
        { name: 'Providers__Neon__ApiKey', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=neon-api-key)' }
        { name: 'Providers__Railway__ProjectId', value: railwayProjectId }
        { name: 'Providers__Railway__Image', value: runtimeImage }
        { name: 'Providers__Railway__Token', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=railway-token)' }
        { name: 'Llm__Provider', value: llmProvider }
        { name: 'Llm__Model', value: llmModel }
        { name: 'Llm__ApiKey', value: '@Microsoft.KeyVault(VaultName=${vault.name};SecretName=llm-api-key)' }
      ]
    }
  }
}

// The app reads its secrets through Key Vault references: Key Vault Secrets User on the vault.
resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, app.id, 'secrets-user')
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

output functionAppName string = app.name
output webhookUrl string = 'https://${app.properties.defaultHostName}/api/stripe/webhook'
