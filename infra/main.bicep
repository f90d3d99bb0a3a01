// SetupClaw's control plane on Azure, deployed by `azd up` (azure.yaml at the repository root, parameters in
// main.parameters.json): a Flex Consumption Functions app (.NET 10 isolated) with Durable Functions on Azure
// Storage reached with a user-assigned identity (no account keys), every secret a Key Vault reference, the control
// database on Azure Database for PostgreSQL Flexible Server (TLS required), and Log Analytics with Application
// Insights. docs/DEPLOYMENT.md is the runbook.
targetScope = 'subscription'

@minLength(1)
@maxLength(20)
@description('Short environment name (azd: AZURE_ENV_NAME); names the resource group and makes the durable task hub unique.')
param environmentName string

@minLength(1)
@description('Azure region for every resource (azd: AZURE_LOCATION).')
param location string

@description('Neon project holding one branch per customer.')
param neonProjectId string

@description('The empty Neon template branch customer branches are created from (br-…): no databases, no roles.')
param neonTemplateBranchId string

param railwayProjectId string

@description('Railway environment the customer services live in.')
param railwayEnvironmentName string = 'production'

@allowed([ 'Workspace', 'Team', 'Account', 'Project' ])
@description('What kind of Railway token railway-token holds (docs/DEPLOYMENT.md).')
param railwayTokenKind string = 'Workspace'

@description('The runtime image Railway deploys for every customer (ghcr.io/…/setupclaw-runtime:<tag>).')
param runtimeImage string

@allowed([ 'anthropic', 'openai' ])
@description('The model provider behind the gateway; its key lives in Key Vault as llm-api-key.')
param llmProvider string = 'anthropic'

param llmModel string

@description('For OpenAI-compatible providers other than OpenAI itself: the URL up to and including /v1.')
param llmBaseUrl string = ''

param starterPriceId string
param proPriceId string
param teamPriceId string

@description('The address customers and Stripe reach the app at; empty: the app\'s azurewebsites.net address.')
param publicBaseUrl string = ''

param postgresAdministratorLogin string = 'setupclaw'

@secure()
@description('The control database administrator password; it is stored only in the Key Vault secret control-database.')
param postgresAdministratorPassword string

@description('Who the go-live alerts email (failure rate over 5%, time to active over 60 s at p95); empty: portal only.')
param alertEmail string = ''

@description('The SMTP relay customer emails go through (sign-in links, welcome, payment trouble, cancellation); its password is the vault secret smtp-password.')
param smtpHost string

@description('The SMTP port (587: STARTTLS).')
param smtpPort string = '587'

@description('The SMTP user name, when the relay needs one.')
param smtpUsername string = ''

@description('The sender of customer emails, as Name <address>.')
param emailFrom string

@allowed([ 'false', 'true' ])
@description('The rollback switch (docs/DEPLOYMENT.md): webhooks are recorded and acknowledged, nothing new is provisioned.')
param provisioningPaused string = 'false'

@description('Warm pool members kept ready (0: none). Each idle member costs a Railway service and a Neon compute around the clock (docs/operations.md).')
param poolSize string = '0'

@description('This installation\'s id, tagged on every Neon branch and Railway service it creates: its sweep leaves other installations\' alone.')
@maxLength(40)
param installationId string = toLower('setupclaw-${environmentName}')

@minValue(0)
@description('HTTP instances kept warm: the model gateway and the webhook must not wait for a cold start.')
param alwaysReadyHttpInstances int = 1

var suffix = uniqueString(subscription().id, environmentName, location)
var tags = { 'azd-env-name': environmentName, application: 'setupclaw' }
var appName = 'func-claw-${environmentName}-${suffix}'
var baseUrl = empty(publicBaseUrl) ? 'https://${appName}.azurewebsites.net' : publicBaseUrl
var deploymentContainerName = 'app-package'
var vaultName = 'kv-claw-${take(suffix, 13)}'

// A Key Vault reference to one secret of the vault (given as the vault module's output, so the app waits for the
// vault and its role assignment).
func secret(vault string, name string) string => '@Microsoft.KeyVault(VaultName=${vault};SecretName=${name})'

resource group 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-setupclaw-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: group
  params: { name: 'id-claw-${environmentName}', location: location, tags: tags }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: group
  params: {
    logAnalyticsName: 'log-claw-${environmentName}-${suffix}'
    applicationInsightsName: 'appi-claw-${environmentName}-${suffix}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  scope: group
  params: {
    name: 'stclaw${suffix}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    deploymentContainerName: deploymentContainerName
  }
}

module postgres 'modules/postgres.bicep' = {
  scope: group
  params: {
    name: 'psql-claw-${environmentName}-${suffix}'
    location: location
    tags: tags
    administratorLogin: postgresAdministratorLogin
    administratorPassword: postgresAdministratorPassword
  }
}

module vault 'modules/keyvault.bicep' = {
  scope: group
  params: {
    name: vaultName
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    controlDatabaseConnectionString: 'Host=${postgres.outputs.fqdn};Port=5432;Database=${postgres.outputs.databaseName};Username=${postgresAdministratorLogin};Password=${postgresAdministratorPassword};SSL Mode=VerifyFull'
  }
}

// Every setting the code binds is here (SettingsCoverageTests checks it against the code and
// local.settings.sample.json); secrets are Key Vault references, read with the app's identity.
var appSettings = [
  // The Durable Azure Storage backend and the host's own storage, with the identity: no account key anywhere.
  { name: 'AzureWebJobsStorage__accountName', value: storage.outputs.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'AzureWebJobsStorage__clientId', value: identity.outputs.clientId }
  // Task hub names are letters and digits only; azd environment names may hold hyphens.
  { name: 'DurableTaskHubName', value: 'setupclaw${toLower(replace(replace(environmentName, '-', ''), '_', ''))}' }
  // The site's root is the signup page (host.json: empty routePrefix), not the Functions welcome page.
  { name: 'AzureWebJobsDisableHomepage', value: 'true' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: monitoring.outputs.connectionString }
  { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.outputs.clientId};Authorization=AAD' }
  // The identity the app's own metric exporter authenticates with (FunctionsHost.AddTelemetry).
  { name: 'AZURE_CLIENT_ID', value: identity.outputs.clientId }
  { name: 'App__PublicBaseUrl', value: baseUrl }
  { name: 'App__InstallationId', value: installationId }
  { name: 'ConnectionStrings__ControlDatabase', value: secret(vault.outputs.name, 'control-database') }
  { name: 'Stripe__SecretKey', value: secret(vault.outputs.name, 'stripe-secret-key') }
  { name: 'Stripe__WebhookSecret', value: secret(vault.outputs.name, 'stripe-webhook-secret') }
  { name: 'Security__EncryptionKey', value: secret(vault.outputs.name, 'encryption-key') }
  { name: 'Security__AdminKey', value: secret(vault.outputs.name, 'admin-key') }
  // Set to a reference to the secret previous-encryption-keys while a key rotation runs (docs/operations.md).
  { name: 'Security__PreviousEncryptionKeys', value: '' }
  { name: 'Security__ApiKeyRevealWindow', value: '00:15:00' }
  // Customer emails through the operator's SMTP relay; its password is the vault's smtp-password.
  { name: 'Email__From', value: emailFrom }
  { name: 'Email__SmtpHost', value: smtpHost }
  { name: 'Email__SmtpPort', value: smtpPort }
  { name: 'Email__SmtpUsername', value: smtpUsername }
  { name: 'Email__SmtpPassword', value: secret(vault.outputs.name, 'smtp-password') }
  { name: 'Email__SmtpSecurity', value: 'auto' }
  // Unused while SmtpHost is set (the folder is the local default).
  { name: 'Email__OutboxDirectory', value: '/tmp/setupclaw-outbox' }
  { name: 'Email__MaxAttempts', value: '10' }
  { name: 'Email__RetryAfter', value: '00:00:15' }
  { name: 'Dashboard__SessionLifetime', value: '7.00:00:00' }
  { name: 'Dashboard__SignInLinkLifetime', value: '00:15:00' }
  { name: 'Dashboard__StatusTokenSignInWindow', value: '1.00:00:00' }
  { name: 'Dashboard__ArchiveRetention', value: '30.00:00:00' }
  { name: 'Plans__Starter__StripePriceId', value: starterPriceId }
  { name: 'Plans__Pro__StripePriceId', value: proPriceId }
  { name: 'Plans__Team__StripePriceId', value: teamPriceId }
  { name: 'Plans__Starter__MonthlyPriceUsd', value: '29' }
  { name: 'Plans__Pro__MonthlyPriceUsd', value: '79' }
  { name: 'Plans__Team__MonthlyPriceUsd', value: '199' }
  { name: 'Plans__Starter__MonthlyTokens', value: '2000000' }
  { name: 'Plans__Pro__MonthlyTokens', value: '10000000' }
  { name: 'Plans__Team__MonthlyTokens', value: '50000000' }
  // Idle assistants rest where the plan allows: Railway's application sleeping, Neon's compute suspend (-1 never).
  { name: 'Plans__Starter__SleepWhenIdle', value: 'true' }
  { name: 'Plans__Starter__DatabaseSuspendSeconds', value: '300' }
  { name: 'Plans__Pro__SleepWhenIdle', value: 'true' }
  { name: 'Plans__Pro__DatabaseSuspendSeconds', value: '300' }
  { name: 'Plans__Team__SleepWhenIdle', value: 'false' }
  { name: 'Plans__Team__DatabaseSuspendSeconds', value: '-1' }
  { name: 'Providers__Database', value: 'Neon' }
  { name: 'Providers__Compute', value: 'Railway' }
  { name: 'Providers__Neon__ApiKey', value: secret(vault.outputs.name, 'neon-api-key') }
  { name: 'Providers__Neon__ProjectId', value: neonProjectId }
  { name: 'Providers__Neon__ParentBranchId', value: neonTemplateBranchId }
  { name: 'Providers__Neon__OperationPollInterval', value: '00:00:01' }
  { name: 'Providers__Neon__OperationTimeout', value: '00:03:00' }
  { name: 'Providers__Railway__Token', value: secret(vault.outputs.name, 'railway-token') }
  { name: 'Providers__Railway__TokenKind', value: railwayTokenKind }
  { name: 'Providers__Railway__ProjectId', value: railwayProjectId }
  { name: 'Providers__Railway__EnvironmentName', value: railwayEnvironmentName }
  { name: 'Providers__Railway__Image', value: runtimeImage }
  { name: 'Providers__Railway__HealthCheckPath', value: '/health' }
  { name: 'Providers__Railway__DeploymentWatchSeconds', value: '15' }
  { name: 'Providers__Railway__StateCacheSeconds', value: '60' }
  // Railway Hobby's published 10 calls/s (Pro: 50); the hourly budget is read from Railway's X-RateLimit-* headers.
  { name: 'Providers__Railway__MaxRequestsPerSecond', value: '10' }
  { name: 'Providers__Http__MaxRetries', value: '4' }
  { name: 'Providers__Http__RetryBaseDelay', value: '00:00:01' }
  { name: 'Providers__Http__MaxRetryDelay', value: '00:00:15' }
  { name: 'Providers__Http__AttemptTimeout', value: '00:00:30' }
  { name: 'Provisioning__HealthCheckTimeout', value: '00:01:30' }
  { name: 'Provisioning__DeploymentTimeout', value: '00:10:00' }
  { name: 'Provisioning__Paused', value: provisioningPaused }
  { name: 'Provisioning__MaxStartsPerSecond', value: '20' }
  { name: 'Llm__Provider', value: llmProvider }
  { name: 'Llm__Model', value: llmModel }
  { name: 'Llm__BaseUrl', value: llmBaseUrl }
  { name: 'Llm__ApiKey', value: secret(vault.outputs.name, 'llm-api-key') }
  { name: 'Llm__MaxOutputTokens', value: '1024' }
  { name: 'Llm__MaxMessages', value: '100' }
  { name: 'Llm__MaxPromptCharacters', value: '400000' }
  { name: 'Sweep__Schedule', value: '0 */5 * * * *' }
  { name: 'Pool__Size', value: poolSize }
  { name: 'Pool__Plan', value: 'starter' }
  { name: 'Pool__IntervalSeconds', value: '30' }
  { name: 'Pool__Schedule', value: '0 */1 * * * *' }
  { name: 'Pool__HealthCheckSeconds', value: '1800' }
  { name: 'Pool__MaxWarmingAtOnce', value: '4' }
  { name: 'Sweep__IntervalSeconds', value: '300' }
  { name: 'Sweep__GraceSeconds', value: '30' }
  { name: 'RateLimits__SignupsPerMinute', value: '10' }
  { name: 'RateLimits__AdminFailuresBeforeLockout', value: '5' }
  { name: 'RateLimits__AdminLockout', value: '00:00:30' }
  { name: 'RateLimits__MaxAdminLockout', value: '00:15:00' }
  // Azure's front end appends the client's address to X-Forwarded-For: the rate limits key on it.
  { name: 'RateLimits__TrustForwardedFor', value: 'true' }
]

module app 'modules/functionapp.bicep' = {
  scope: group
  params: {
    name: appName
    planName: 'plan-claw-${environmentName}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    appSettings: appSettings
  }
}

module alerts 'modules/alerts.bicep' = {
  scope: group
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    namePrefix: 'claw-${environmentName}'
    alertEmail: alertEmail
  }
}

output AZURE_RESOURCE_GROUP string = group.name
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output FUNCTION_APP_NAME string = app.outputs.name
output FUNCTION_URL string = 'https://${app.outputs.defaultHostName}'
output PUBLIC_BASE_URL string = baseUrl
@description('Register this in Stripe (Developers → Webhooks) with the event types docs/DEPLOYMENT.md lists.')
output STRIPE_WEBHOOK_URL string = '${baseUrl}/api/stripe/webhook'
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
