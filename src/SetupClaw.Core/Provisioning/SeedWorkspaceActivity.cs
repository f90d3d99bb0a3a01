using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// Step 3: schema, workspace files, first memory and skills, then the assistant's identity (who it belongs to, its
/// key's hash, its gateway token, its plan), written with the customer's own credentials before any runtime starts.
/// </summary>
public sealed class SeedWorkspaceActivity(ICustomerStore store, IWorkspaceSeeder seeder, SecretBox secretBox, AssistantIdentityWriter identity, Telemetry.SetupClawMetrics metrics)
    : StepActivity<bool>(store, metrics)
{
    protected override string Step => Steps.SeedWorkspace;

    protected override bool OncePerOperation => true;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        if (customer.DatabaseUrlEncrypted is null || customer.WorkspaceId is null)
        {
            throw new PermanentProvisioningException("The workspace cannot be seeded before the database and credentials exist.");
        }

        await seeder.SeedAsync(secretBox.Open(customer.DatabaseUrlEncrypted, customer.Id, SealedColumns.DatabaseUrl), customer, customer.WorkspaceId, cancellationToken);
        await identity.WriteAsync(customer, Plans.PlanCatalog.Get(customer.Plan), cancellationToken);
        return true;
    }
}
