using Microsoft.DurableTask;
using SetupClaw.Customers;

namespace SetupClaw.Operations;

/// <summary>
/// A compensation that failed after its retries: recorded, so the sweep deletes what it left. The resource is pinned
/// by the id recorded on the customer now, so a later provisioning of the same customer never has its own deleted.
/// </summary>
public sealed class RecordOrphanActivity(OrphanStore store, ICustomerStore customers) : TaskActivity<OrphanReport, bool>
{
    public override async Task<bool> RunAsync(TaskActivityContext context, OrphanReport input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.ResourceId is null && await customers.GetAsync(input.CustomerId, CancellationToken.None) is { } customer)
        {
            input = input with { ResourceId = input.Kind == OrphanKinds.Database ? customer.DatabaseBranchId : customer.RailwayServiceId };
        }

        return await store.RecordAsync(input, CancellationToken.None);
    }
}
