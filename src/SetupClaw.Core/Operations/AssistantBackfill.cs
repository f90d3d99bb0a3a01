using System.Text.RegularExpressions;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;
using SetupClaw.Provisioning;

namespace SetupClaw.Operations;

/// <summary>
/// What one page of a backfill did: assistants brought up to date, gateway tokens issued, customers skipped (busy
/// or no longer live: the next page or a later run takes them), those that failed, and where the next page starts
/// (null after the last).
/// </summary>
public sealed record BackfillReport(int Updated, int TokensIssued, int Skipped, IReadOnlyList<string> Failed, string? Next);

/// <summary>
/// Brings the assistants provisioned before the runtime read its identity from its database (and before the model
/// gateway) up to date: a gateway token for those without one, the identity written into each database, and the
/// service's variables replaced by today's (the database and the gateway's address: Railway's replace removes the old
/// ones, the provider key among them). One page of customers (by id) per call, so a large fleet never outlasts a
/// request; idempotent. Each customer is held like a sweep holds it, so no lifecycle run (a plan change, a
/// cancellation) changes it meanwhile, and it is re-read under the hold; only an existing service is updated, never
/// created. The variables take effect at the service's next deployment.
/// </summary>
public sealed partial class AssistantBackfill(
    ICustomerStore customers, LifecycleStore leases, LifecycleScheduler lifecycle, AssistantIdentityWriter identity, IComputeProvider compute,
    SecretBox secretBox, IOptions<LlmOptions> llm, IOptions<Billing.AppOptions> app)
{
    public const int DefaultPageSize = 50;

    public async Task<BackfillReport> RunAsync(DurableTaskClient durable, string? after, int pageSize, CancellationToken cancellationToken)
    {
        var live = (await customers.ListByStatusAsync(CustomerStatus.Active, cancellationToken))
            .Concat(await customers.ListByStatusAsync(CustomerStatus.Suspended, cancellationToken))
            .Select(c => c.Id).Where(id => after is null || string.CompareOrdinal(id, after) > 0).Order(StringComparer.Ordinal).ToList();
        var page = live.Take(pageSize).ToList();
        var services = await compute.ListAsync(cancellationToken);
        var updated = 0;
        var issued = 0;
        var skipped = 0;
        var failed = new List<string>();
        foreach (var customerId in page)
        {
            var holder = LifecycleScheduler.OrphanHolderPrefix + "backfill-" + Guid.NewGuid().ToString("N")[..8];
            if (!await leases.TryHoldAsync(customerId, holder, cancellationToken))
            {
                skipped++; // a lifecycle run holds it, and writes today's identity itself if it changes the plan
                continue;
            }

            try
            {
                var customer = await customers.GetRequiredAsync(customerId, cancellationToken);
                if (customer.Status is not (CustomerStatus.Active or CustomerStatus.Suspended) || customer.DatabaseUrlEncrypted is null || !services.Holds(customerId, customer.RailwayServiceId))
                {
                    skipped++;
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
                await compute.CreateServiceAsync(CreateServiceActivity.ServiceRequestFor(customer, plan, secretBox, llm.Value, app.Value), cancellationToken);
                updated++;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failed.Add($"{customerId}: {Scrub(e.Message)}");
            }
            finally
            {
                await leases.LetGoAsync(customerId, holder, CancellationToken.None);
                // A fact that arrived while the backfill held the customer found it busy: start its run now.
                await lifecycle.KickAsync(durable, customerId, CancellationToken.None);
            }
        }

        return new BackfillReport(updated, issued, skipped, failed, live.Count > page.Count ? page[^1] : null);
    }

    /// <summary>A provider's error may quote what it was sent: connection strings and passwords never reach the answer.</summary>
    private static string Scrub(string message)
    {
        var scrubbed = PostgresUrl().Replace(message, "[connection string]");
        scrubbed = PasswordPair().Replace(scrubbed, "Password=[redacted]");
        return scrubbed.Length > 300 ? scrubbed[..300] + "…" : scrubbed;
    }

    [GeneratedRegex(@"postgres(ql)?://\S+", RegexOptions.IgnoreCase)]
    private static partial Regex PostgresUrl();

    [GeneratedRegex(@"Password=[^;\s""]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPair();
}
