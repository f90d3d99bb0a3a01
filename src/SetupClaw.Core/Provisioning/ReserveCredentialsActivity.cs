using SetupClaw.Credentials;
using SetupClaw.Customers;

namespace SetupClaw.Provisioning;

/// <summary>Step 1: the workspace id and the API key. Only the key's hash is kept, plus a sealed copy until the customer has seen it.</summary>
public sealed class ReserveCredentialsActivity(ICustomerStore store, SecretBox secretBox, TimeProvider clock) : StepActivity<string>(store)
{
    protected override string Step => Steps.ReserveCredentials;

    protected override bool OncePerOperation => true;

    protected override Task<string> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        // A retry keeps what an earlier attempt reserved: the store only fills empty credentials.
        var workspaceId = $"ws_{customerId["cus_".Length..]}_{clock.GetUtcNow().ToUnixTimeSeconds()}";
        var apiKey = Secrets.NewApiKey();
        return Store.ReserveCredentialsAsync(
            customerId, workspaceId, Secrets.Hash(apiKey), secretBox.Seal(apiKey, customerId, SealedColumns.ApiKey), Secrets.Hint(apiKey), cancellationToken);
    }
}
