using Microsoft.DurableTask;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>Durable retry policies. Short for steps (HTTP clients retry inside too); permanent failures are never retried.</summary>
public static class Retries
{
    public static readonly TaskOptions Step = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 4, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(15))
    {
        HandleFailure = failure => !IsPermanent(failure),
    });

    /// <summary>
    /// Compares the failure's type name rather than calling <c>IsCausedBy&lt;T&gt;()</c>: that resolves the type by
    /// name, which fails for types of other assemblies (HttpRequestException), and a throwing handler stops retries.
    /// </summary>
    public static bool IsPermanent(TaskFailureDetails? failure)
    {
        for (; failure is not null; failure = failure.InnerFailure)
        {
            if (failure.ErrorType == typeof(PermanentProvisioningException).FullName)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// An undo does not give up easily on what may pass (what it fails to delete would be left running unpaid); a
    /// permanent refusal (credentials, a rejected request) is not retried here: the resource is recorded as an
    /// orphan at once, and the sweep retries it every few minutes until the operator has fixed the cause.
    /// </summary>
    public static readonly TaskOptions Compensation = TaskOptions.FromRetryPolicy(new RetryPolicy(
        maxNumberOfAttempts: 8, firstRetryInterval: TimeSpan.FromSeconds(1), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30))
    {
        HandleFailure = failure => !IsPermanent(failure),
    });
}
