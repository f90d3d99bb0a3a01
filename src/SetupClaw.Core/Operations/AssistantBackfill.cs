using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Operations;

/// <summary>What a backfill did: assistants brought up to date, gateway tokens issued, and those it could not reach.</summary>
public sealed record BackfillReport(int Updated, int TokensIssued, IReadOnlyList<string> Failed);

/// <summary>
/// Brings the assistants provisioned before the runtime read its identity from its database (and before the model
/// gateway) up to date: a gateway token for those without one, the identity written into each database, and the
/// service's variables replaced by today's (the database and the gateway's address: Railway's replace removes the old
/// ones, the provider key among them). Idempotent. The variables take effect at the service's next deployment.
/// </summary>
public sealed class AssistantBackfill(
    ICustomerStore customers, AssistantIdentityWriter identity, IComputeProvider compute, SecretBox secretBox,
    IOptions<LlmOptions> llm, IOptions<Billing.AppOptions> app)
{
    public async Task<BackfillReport> RunAsync(CancellationToken cancellationToken)
    {
        var updated = 0;
        var issued = 0;
        var failed = new List<string>();
        var running = (await customers.ListByStatusAsync(CustomerStatus.Active, cancellationToken))
            .Concat(await customers.ListByStatusAsync(CustomerStatus.Suspended, cancellationToken));
        foreach (var listed in running)
        {
            var customer = listed;
            try
            {
                if (customer.DatabaseUrlEncrypted is null || customer.InstanceId is null)
                {
                    failed.Add($"{customer.Id}: no database or service is recorded");
                    continue;
                }

                if (customer.GatewayTokenHash is null)
                {
                    var token = Secrets.NewGatewayToken();
                    await customers.ReserveGatewayTokenAsync(customer.Id, Secrets.Hash(token), secretBox.Seal(token, customer.Id, SealedColumns.GatewayToken), cancellationToken);
                    customer = await customers.GetRequiredAsync(customer.Id, cancellationToken);
                    issued++;
                }

                var plan = PlanCatalog.Get(customer.Plan);
                await identity.WriteAsync(customer, plan, cancellationToken);
                await compute.CreateServiceAsync(CreateServiceActivity.ServiceRequestFor(customer, plan, secretBox, llm.Value, app.Value.PublicBaseUrl), cancellationToken);
                updated++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed.Add($"{customer.Id}: {e.Message}");
            }
        }

        return new BackfillReport(updated, issued, failed);
    }
}
