using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

// One vocabulary for how lifecycle work fails. An activity throws PermanentProvisioningException for what no retry
// can fix (it is never retried: Retries.IsPermanent) and anything else for what may pass (retried by Retries.Step).
// The orchestrators themselves fail with the ProvisioningStepException family below.

/// <summary>The failures activities share, worded once.</summary>
internal static class Failures
{
    /// <summary>A customer row that is missing does not appear on a retry: permanent, wherever it is looked up.</summary>
    public static PermanentProvisioningException CustomerNotFound(string customerId) => new($"Customer {customerId} does not exist.");

    /// <summary>The customer, or the permanent failure that says it does not exist.</summary>
    public static async Task<Customer> GetRequiredAsync(this ICustomerStore store, string customerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await store.GetAsync(customerId, cancellationToken) ?? throw CustomerNotFound(customerId);
    }
}

/// <summary>A step failed in the orchestrator itself (a failed deployment), not inside an activity.</summary>
public class ProvisioningStepException(string message) : Exception(message);

/// <summary>The deployment ended FAILED or CRASHED: worth one more deployment, then a failure of the saga.</summary>
public sealed class DeploymentFailedException(string message) : ProvisioningStepException(message);

/// <summary>The subscription ended while the saga ran: it stops and undoes what it did.</summary>
public sealed class ProvisioningCancelledException(string message) : ProvisioningStepException(message);
