using Microsoft.DurableTask;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Provisioning;

namespace SetupClaw.Lifecycle;

/// <summary>
/// Suspends (Stripe gave up on a payment) or resumes (paid again): the mark in the customer's own database (the
/// runtime answers chat 402 while it is there), then the customer's status. Data is never touched.
/// </summary>
public sealed class SuspendOrResumeActivity(ICustomerStore customers, ICustomerData data, SecretBox secrets, Email.CustomerEmails emails, TimeProvider clock)
    : TaskActivity<Suspension, bool>
{
    /// <summary>The name it was first registered under: lifecycle runs in flight call it by this name.</summary>
    public const string RegisteredName = "SetSuspendedActivity";

    public override async Task<bool> RunAsync(TaskActivityContext context, Suspension input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var customer = await customers.GetRequiredAsync(input.CustomerId, CancellationToken.None);
        if (customer.DatabaseUrlEncrypted is { } sealedUrl)
        {
            await data.SetSuspendedAsync(secrets.Open(sealedUrl, customer.Id, SealedColumns.DatabaseUrl), input.Suspended ? customer.SuspendedAt ?? clock.GetUtcNow() : null, CancellationToken.None);
        }

        await (input.Suspended
            ? customers.SuspendAsync(input.CustomerId, CancellationToken.None)
            : customers.ResumeAsync(input.CustomerId, CancellationToken.None));
        // One email per suspension (its start time tells a later suspension from a retried step of this one).
        if (input.Suspended && await customers.GetAsync(input.CustomerId, CancellationToken.None) is { SuspendedAt: { } since } suspended)
        {
            await emails.SuspendedAsync(suspended, since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), CancellationToken.None);
        }
        return true;
    }
}

/// <summary>The activity's input: suspend when true, resume when false.</summary>
public sealed record Suspension(string CustomerId, bool Suspended);
