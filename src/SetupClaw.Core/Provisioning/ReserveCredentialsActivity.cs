using SetupClaw.Credentials;
using SetupClaw.Customers;

namespace SetupClaw.Provisioning;

/// <summary>
/// Step 1: the workspace id, the API key (only its hash is kept, plus a sealed copy until the customer has seen it)
/// and the runtime's model-gateway token (hash, and a sealed copy for the service variables).
/// </summary>
public sealed class ReserveCredentialsActivity(ICustomerStore store, SecretBox secretBox, TimeProvider clock, Telemetry.SetupClawMetrics metrics) : StepActivity<string>(store, metrics)
{
    protected override string Step => Steps.ReserveCredentials;

    protected override bool OncePerOperation => true;

    protected override async Task<string> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        // A retry keeps what an earlier attempt reserved: the store only fills empty credentials.
        var workspaceId = $"ws_{customerId["cus_".Length..]}_{clock.GetUtcNow().ToUnixTimeSeconds()}";
        var apiKey = Secrets.NewApiKey();
        var gatewayToken = Secrets.NewGatewayToken();
        await Store.ReserveGatewayTokenAsync(customerId, Secrets.Hash(gatewayToken), secretBox.Seal(gatewayToken, customerId, SealedColumns.GatewayToken), cancellationToken);
        return await Store.ReserveCredentialsAsync(
            customerId, workspaceId, Secrets.Hash(apiKey), secretBox.Seal(apiKey, customerId, SealedColumns.ApiKey), Secrets.Hint(apiKey), cancellationToken);
    }
}
