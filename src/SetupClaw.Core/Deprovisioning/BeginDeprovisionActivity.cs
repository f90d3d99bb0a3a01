using Microsoft.DurableTask;
using SetupClaw.Customers;

namespace SetupClaw.Deprovisioning;

/// <summary>Moves the customer to <c>deprovisioning</c>, or says why not yet (provisioning in flight) or not at all.</summary>
public sealed class BeginDeprovisionActivity(ICustomerStore store) : TaskActivity<string, string>
{
    public const string Started = "started";
    public const string Busy = "busy";
    public const string NothingToDo = "nothing_to_do";

    public override async Task<string> RunAsync(TaskActivityContext context, string customerId)
    {
        var customer = await store.GetAsync(customerId, CancellationToken.None);
        return customer?.Status switch
        {
            null or CustomerStatus.Deprovisioned => NothingToDo,
            CustomerStatus.Provisioning => Busy,
            _ => await store.BeginDeprovisioningAsync(customerId, CancellationToken.None) ? Started : NothingToDo,
        };
    }
}
