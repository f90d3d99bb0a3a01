using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Step 2: the customer's own database and role. The connection string is sealed into the control database, never returned.</summary>
public sealed class CreateDatabaseActivity(ICustomerStore store, IDatabaseProvider databases, SecretBox secretBox, Microsoft.Extensions.Options.IOptions<Billing.AppOptions> app, Telemetry.SetupClawMetrics metrics)
    : StepActivity<string>(store, metrics)
{
    protected override string Step => Steps.CreateDatabase;

    protected override bool OncePerOperation => true;

    protected override async Task<string> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        var database = await databases.CreateAsync(new DatabaseRequest(customerId, customer.Plan, app.Value.InstallationId), cancellationToken);
        await Store.RecordDatabaseAsync(customerId, database.ResourceId, secretBox.Seal(database.ConnectionString, customerId, SealedColumns.DatabaseUrl), cancellationToken);
        return database.ResourceId;
    }
}
