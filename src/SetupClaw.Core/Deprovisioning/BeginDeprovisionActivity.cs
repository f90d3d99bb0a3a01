using Microsoft.DurableTask;
using SetupClaw.Customers;

namespace SetupClaw.Deprovisioning;

/// <summary>Moves the customer to <c>deprovisioning</c>, or says there is nothing to do.</summary>
public sealed class BeginDeprovisionActivity(ICustomerStore store) : TaskActivity<string, string>
{
    public const string Started = "started";
    public const string NothingToDo = "nothing_to_do";

    public override async Task<string> RunAsync(TaskActivityContext context, string customerId) =>
        await store.BeginDeprovisioningAsync(customerId, CancellationToken.None) ? Started : NothingToDo;
}
