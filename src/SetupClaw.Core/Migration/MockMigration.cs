using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SetupClaw.Billing;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Email;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;

namespace SetupClaw.Migration;

/// <summary>The three ways over for the mock era's customers (the migration guide's step 6 A, B and C).</summary>
public static class MockMigrationModes
{
    /// <summary>A: import them as grandfathered customers, bound to their subscriptions, nothing provisioned.</summary>
    public const string Grandfather = "grandfather";

    /// <summary>B: give every live subscription a real assistant through the lifecycle (no new payment).</summary>
    public const string Provision = "provision";

    /// <summary>C: cancel (and optionally refund) their subscriptions; only with a Stripe key and <c>execute</c>.</summary>
    public const string CleanSlate = "clean-slate";

    public static IReadOnlyList<string> All { get; } = [Grandfather, Provision, CleanSlate];
}

/// <summary>What happens, or happened, to one mock customer: an action, its outcome and why.</summary>
public static class MockOutcomes
{
    /// <summary>A dry run, or a clean slate without <c>execute</c> or a Stripe key: what would happen.</summary>
    public const string Planned = "planned";
    public const string Done = "done";
    public const string Skipped = "skipped";
    public const string Failed = "failed";
}

/// <summary>One row of the prototype's <c>customers</c> table, as the command line read it (its mock key stays behind).</summary>
public sealed record MockCustomerRow(string? SourceId, string? Email, string? StripeCustomerId, string? SubscriptionId, string? Plan, string? Status);

/// <summary>The body of <c>POST /api/operator/mock-migration</c>: one batch of the prototype's customers and what to do.</summary>
/// <param name="PriceMap">The prototype's old price ids (or names) → SetupClaw's plan names.</param>
public sealed record MockMigrationRequest(
    string? Mode, bool DryRun, bool Execute, bool Refund, IReadOnlyDictionary<string, string>? PriceMap, IReadOnlyList<MockCustomerRow>? Customers);

/// <param name="Action">grandfather, provision, cancel, or skip.</param>
public sealed record MockDecision(string SourceId, string Email, string Action, string Outcome, string Reason, string? CustomerId = null, string? Plan = null);

/// <summary>
/// Decides, and (unless a dry run) does, what each mock customer gets. Decisions come from facts only: the plan from
/// the configured price ids, then plan names, then the operator's price map (never guessed); whether the subscription
/// is live from Stripe when a key is configured, else from the prototype's status; what SetupClaw already holds for
/// the Stripe customer. Idempotent: a customer imported once is found by its Stripe customer id and never imported,
/// provisioned or cancelled twice. The prototype's key, workspace id and URL are never read here: nothing of the
/// mock era becomes a credential.
/// </summary>
public sealed partial class MockMigration(
    ICustomerStore customers, LifecycleScheduler lifecycle, PlanCatalog plans, StripeReader stripeReader, StripeActions stripeActions,
    CustomerEmails emails, IOptions<StripeOptions> stripe, TimeProvider clock, ILogger<MockMigration> logger)
{
    public const int MaxBatch = 200;

    private enum Liveness
    {
        Live,
        PastDue,
        Ended,
        NotPaid,
        Unknown,
    }

    /// <summary>Checks the request's shape: null when it can be run, else what a person must change.</summary>
    public static string? Invalid(MockMigrationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Mode is null || !MockMigrationModes.All.Contains(request.Mode))
        {
            return $"'mode' must be one of {string.Join(", ", MockMigrationModes.All)}.";
        }

        if (request.Customers is not { Count: > 0 and <= MaxBatch } rows)
        {
            return $"'customers' must list 1 to {MaxBatch} of the prototype's customers.";
        }

        foreach (var (old, plan) in request.PriceMap ?? new Dictionary<string, string>())
        {
            if (!PlanCatalog.TryGet(plan, out _))
            {
                return $"The price map sends '{old}' to '{plan}', which is not a plan: use starter, pro or team.";
            }
        }

        if (rows.FirstOrDefault(r => string.IsNullOrWhiteSpace(r.SourceId) || string.IsNullOrWhiteSpace(r.Email) || string.IsNullOrWhiteSpace(r.StripeCustomerId)) is { } incomplete)
        {
            return $"Every customer needs sourceId, email and stripeCustomerId (row '{incomplete.SourceId}' lacks one).";
        }

        if (rows.GroupBy(r => r.StripeCustomerId, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return $"Stripe customer {twice.Key} appears {twice.Count()} times in the batch: each prototype customer once.";
        }

        return null;
    }

    public async Task<IReadOnlyList<MockDecision>> RunAsync(DurableTaskClient durable, MockMigrationRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var decisions = new List<MockDecision>();
        foreach (var row in request.Customers!)
        {
            MockDecision decision;
            try
            {
                decision = await DecideAsync(durable, request, row, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, row.SourceId!, e);
                decision = Decision(row, null, "skip", MockOutcomes.Failed, $"unexpected error ({e.GetType().Name}); see the control plane's log");
            }

            LogDecided(logger, request.Mode!, row.SourceId!, decision.Action, decision.Outcome, decision.Reason);
            decisions.Add(decision);
        }

        return decisions;
    }

    private async Task<MockDecision> DecideAsync(DurableTaskClient durable, MockMigrationRequest request, MockCustomerRow row, CancellationToken cancellationToken)
    {
        var plan = MatchPlan(row.Plan, request.PriceMap)?.Name;
        if (request.Mode != MockMigrationModes.CleanSlate && plan is null)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"plan '{row.Plan}' matches no configured price id, plan name or --price-map entry: not guessed");
        }

        if (string.IsNullOrWhiteSpace(row.SubscriptionId))
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, "no subscription in the prototype's row: nothing to bind or cancel");
        }

        var subscription = row.SubscriptionId.Trim();
        var (liveness, said) = await LivenessAsync(row, subscription, cancellationToken);
        if (liveness == Liveness.Unknown)
        {
            return Decision(row, plan, "skip", said.StartsWith("Stripe", StringComparison.Ordinal) ? MockOutcomes.Failed : MockOutcomes.Skipped, said);
        }

        var existing = await customers.FindImportedAsync(row.StripeCustomerId!, cancellationToken);
        if (existing is null && await customers.FindBySubscriptionAsync(subscription, cancellationToken) is { } owner)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"subscription {subscription} already belongs to SetupClaw customer {owner.Id} ({owner.Status}): nothing imported", owner.Id);
        }

        return request.Mode switch
        {
            MockMigrationModes.Grandfather => await GrandfatherAsync(durable, request.DryRun, row, subscription, plan!, liveness, said, existing, cancellationToken),
            MockMigrationModes.Provision => await ProvisionAsync(durable, request.DryRun, row, subscription, plan!, liveness, said, existing, cancellationToken),
            _ => await CleanSlateAsync(request, row, subscription, plan, liveness, said, existing, cancellationToken),
        };
    }

    private async Task<MockDecision> GrandfatherAsync(
        DurableTaskClient durable, bool dryRun, MockCustomerRow row, string subscription, string plan, Liveness liveness, string said, Customer? existing,
        CancellationToken cancellationToken)
    {
        if (existing is { Status: not CustomerStatus.Grandfathered } || existing?.StripeSubscriptionId is not null)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"already imported as {existing.Id} ({existing.Status})", existing.Id);
        }

        if (liveness is Liveness.Ended or Liveness.NotPaid)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"{said}: nothing to import");
        }

        var reason = $"{said}: imported as grandfathered on {plan}, bound to {subscription}, nothing provisioned";
        if (dryRun)
        {
            return Decision(row, plan, "grandfather", MockOutcomes.Planned, reason);
        }

        var (customer, bindOutcome) = await ImportAndBindAsync(durable, row, subscription, plan, liveness, existing, cancellationToken);
        return bindOutcome is null
            ? Decision(row, plan, "grandfather", MockOutcomes.Done, reason, customer.Id)
            : Decision(row, plan, "grandfather", MockOutcomes.Failed, $"imported as {customer.Id} but not bound: {bindOutcome}", customer.Id);
    }

    private async Task<MockDecision> ProvisionAsync(
        DurableTaskClient durable, bool dryRun, MockCustomerRow row, string subscription, string plan, Liveness liveness, string said, Customer? existing,
        CancellationToken cancellationToken)
    {
        if (existing is { Status: not CustomerStatus.Grandfathered })
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, existing.Status switch
            {
                CustomerStatus.Failed => $"its provisioning failed earlier ({existing.Id}): fix the cause, then customers retry {existing.Id}",
                CustomerStatus.Deprovisioning or CustomerStatus.Deprovisioned => $"cancelled ({existing.Id}, {existing.Status}): not provisioned",
                _ => $"already provisioned as {existing.Id} ({existing.Status})",
            }, existing.Id);
        }

        if (liveness != Liveness.Live)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"{said}: not live, so not provisioned" + (liveness == Liveness.PastDue ? " (grandfather it; provision it once paid)" : ""), existing?.Id);
        }

        var reason = $"{said}: a real assistant on {plan}, bound to {subscription} (no new payment)";
        if (dryRun)
        {
            return Decision(row, plan, "provision", MockOutcomes.Planned, reason, existing?.Id);
        }

        var (customer, bindOutcome) = await ImportAndBindAsync(durable, row, subscription, plan, liveness, existing, cancellationToken);
        if (bindOutcome is not null)
        {
            return Decision(row, plan, "provision", MockOutcomes.Failed, $"imported as {customer.Id} but not bound: {bindOutcome}", customer.Id);
        }

        if (!await customers.ReleaseGrandfatheredAsync(customer.Id, cancellationToken))
        {
            var now = await customers.GetAsync(customer.Id, cancellationToken);
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"Stripe's events say the subscription is {now?.BillingState}: kept grandfathered as {customer.Id}", customer.Id);
        }

        var run = await lifecycle.KickAsync(durable, customer.Id, cancellationToken);
        return Decision(row, plan, "provision", MockOutcomes.Done,
            lifecycle.IsPaused ? $"{reason}; provisioning is paused, so it starts when it resumes" : $"{reason}; provisioning started" + (run is null ? "" : $" ({run})"),
            customer.Id);
    }

    private async Task<MockDecision> CleanSlateAsync(
        MockMigrationRequest request, MockCustomerRow row, string subscription, string? plan, Liveness liveness, string said, Customer? existing,
        CancellationToken cancellationToken)
    {
        if (existing is { Status: CustomerStatus.Deprovisioned })
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"cancelled already ({existing.Id})", existing.Id);
        }

        if (existing is not null)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"imported as {existing.Id} ({existing.Status}): cancelling would stop a SetupClaw customer; cancel it in Stripe if meant", existing.Id);
        }

        if (liveness == Liveness.Ended)
        {
            return Decision(row, plan, "skip", MockOutcomes.Skipped, $"{said}: nothing to cancel");
        }

        var what = request.Refund ? $"cancel {subscription} and refund its last paid invoice" : $"cancel {subscription}";
        if (request.DryRun)
        {
            return Decision(row, plan, "cancel", MockOutcomes.Planned, $"{said}: would {what}");
        }

        if (stripe.Value.IsOffline)
        {
            return Decision(row, plan, "cancel", MockOutcomes.Planned, $"{said}: would {what}; no Stripe key is configured, so nothing was done");
        }

        if (!request.Execute)
        {
            return Decision(row, plan, "cancel", MockOutcomes.Planned, $"{said}: would {what}; add --execute to do it");
        }

        // Cancel first (re-running a cancel is harmless), then refund under an idempotency key (a re-run refunds once);
        // once Stripe has been written to, the record and the email no longer heed the request's cancellation.
        await stripeActions.CancelSubscriptionAsync(subscription, cancellationToken);
        var refunded = request.Refund ? await stripeActions.RefundLastPaidInvoiceAsync(subscription, CancellationToken.None) : null;
        var (record, _) = await customers.ImportAsync(NewImport(row, plan ?? Plan.Starter, CustomerStatus.Deprovisioned), CancellationToken.None);
        await emails.MockCancelledAsync(record, refunded is not null, CancellationToken.None);
        return Decision(row, plan, "cancel", MockOutcomes.Done, $"{said}: cancelled {subscription}" + (refunded is null ? "" : $" and refunded {refunded}") + "; emailed", record.Id);
    }

    /// <summary>Imports the customer (once) and binds its subscription with what Stripe, or the prototype, says. The outcome is null when bound.</summary>
    private async Task<(Customer Customer, string? Refused)> ImportAndBindAsync(
        DurableTaskClient durable, MockCustomerRow row, string subscription, string plan, Liveness liveness, Customer? existing, CancellationToken cancellationToken)
    {
        var customer = existing ?? (await customers.ImportAsync(NewImport(row, plan, CustomerStatus.Grandfathered), cancellationToken)).Customer;
        if (customer.StripeSubscriptionId == subscription)
        {
            return (customer, null);
        }

        var state = liveness == Liveness.PastDue ? BillingStates.Suspended : BillingStates.Active;
        var fact = new BillingFact(clock.GetUtcNow(), state, plan, row.StripeCustomerId, subscription);
        var outcome = await lifecycle.BindAsync(durable, customer.Id, subscription, [fact], cancellationToken);
        return (await customers.GetAsync(customer.Id, cancellationToken) ?? customer, StripeWebhookHandler.RefusedOutcomes.Contains(outcome) ? outcome : null);
    }

    private static MockDecision Decision(MockCustomerRow row, string? plan, string action, string outcome, string reason, string? customerId = null) =>
        new(row.SourceId!, row.Email!.Trim(), action, outcome, reason, customerId, plan);

    /// <summary>A new SetupClaw customer for the row (a fresh id, and a status token nobody holds: it signs in by email).</summary>
    private static ImportedCustomer NewImport(MockCustomerRow row, string plan, string status) =>
        new(Providers.CustomerIds.New(), row.Email!.Trim(), plan, row.StripeCustomerId!, row.SourceId!, status, Secrets.Hash(Secrets.NewStatusToken()));

    /// <summary>The configured price id, then the plan's name, then the operator's map: else null (never guessed).</summary>
    public Plan? MatchPlan(string? given, IReadOnlyDictionary<string, string>? priceMap)
    {
        var value = given?.Trim();
        if (plans.TryGetByPriceId(value, out var byPrice))
        {
            return byPrice;
        }

        if (PlanCatalog.TryGet(value, out var byName))
        {
            return byName;
        }

        return value is not null && priceMap?.TryGetValue(value, out var mapped) == true && PlanCatalog.TryGet(mapped, out var byMap) ? byMap : null;
    }

    /// <summary>Whether the subscription is live: Stripe's word when a key is configured, the prototype's status otherwise.</summary>
    private async Task<(Liveness Liveness, string Said)> LivenessAsync(MockCustomerRow row, string subscription, CancellationToken cancellationToken)
    {
        if (!stripe.Value.IsOffline)
        {
            if (await stripeReader.SubscriptionAsync(subscription, cancellationToken) is not { } read)
            {
                return (Liveness.Unknown, $"Stripe did not give subscription {subscription} (missing in this account, or Stripe unreachable)");
            }

            if (!string.Equals(read.CustomerId, row.StripeCustomerId, StringComparison.Ordinal))
            {
                return (Liveness.Unknown, $"subscription {subscription} belongs to another Stripe customer than {row.StripeCustomerId}: not touched");
            }

            // Once bound, the webhook reads the plan from the subscription's price: one it does not know would be refused.
            var price = read.Items?.Data?.FirstOrDefault()?.Price;
            if (price is not null && !plans.TryGetByPriceId(price.Id, out _) && !PlanCatalog.TryGet(price.LookupKey, out _))
            {
                return (Liveness.Unknown,
                    $"subscription {subscription} is on price {price.Id}, which SetupClaw's webhook does not know: set Plans:LegacyPrices:{price.Id}=<plan> (or move it to a plan's price in Stripe) first");
            }

            return (Classify(read.Status), $"Stripe says {read.Status}");
        }

        var status = row.Status?.Trim().ToLowerInvariant() ?? "";
        var liveness = status switch
        {
            "provisioning_failed" => Liveness.Live,
            "suspended" => Liveness.PastDue,
            "cancelled" => Liveness.Ended,
            _ => Classify(status),
        };
        return liveness == Liveness.Unknown
            ? (liveness, $"the prototype's status '{row.Status}' is not one we know: skipped")
            : (liveness, $"the prototype says {status}");
    }

    private static Liveness Classify(string? stripeStatus) => stripeStatus switch
    {
        "active" or "trialing" => Liveness.Live,
        "past_due" or "unpaid" => Liveness.PastDue,
        "canceled" or "incomplete_expired" => Liveness.Ended,
        "incomplete" or "paused" => Liveness.NotPaid,
        _ => Liveness.Unknown,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Mock migration ({Mode}) of prototype customer {SourceId}: {Action}, {Outcome}: {Reason}")]
    private static partial void LogDecided(ILogger logger, string mode, string sourceId, string action, string outcome, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Mock migration of prototype customer {SourceId} failed")]
    private static partial void LogFailed(ILogger logger, string sourceId, Exception exception);
}
