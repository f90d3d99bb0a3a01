using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Billing;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;

namespace SetupClaw.Operations;

/// <summary>
/// The operator's routes (<c>X-Admin-Key</c>): <c>GET /api/operator/orphans</c> lists the open orphans and the last
/// sweeps; <c>POST /api/operator/sweep</c> sweeps now and answers with what it did;
/// <c>POST /api/operator/customers/{id}/retry</c> runs a customer's lifecycle again after its cause was fixed;
/// <c>POST /api/operator/customers/{id}/subscription</c> binds an existing subscription to a customer;
/// <c>GET /api/operator/customers/{id}</c> shows one customer (no secrets); <c>POST /api/operator/backfill</c> brings
/// assistants provisioned earlier up to date (<see cref="AssistantBackfill"/>).
/// </summary>
public sealed class OperatorHandler(
    OrphanStore orphans, OrphanSweeper sweeper, LifecycleStore lifecycleStore, LifecycleScheduler lifecycle, ICustomerStore customers,
    StripeReader stripe, PlanCatalog plans, SecretRotation rotation, AssistantBackfill backfill, Gateway.ModelUsageStore usage,
    Providers.IDatabaseProvider database, Providers.IComputeProvider compute,
    RequestLimits limits, Email.EmailOutbox emails, IOptions<StripeOptions> stripeOptions,
    IOptions<SweepOptions> sweep, Pool.PoolStore pool, IOptionsMonitor<Pool.PoolOptions> poolOptions, TimeProvider clock)
{
    /// <summary>
    /// <c>GET /api/operator/pool</c>: the configured size, members ready and warming (and failed or draining ones
    /// waiting to be destroyed), with each member's state; no secret, no database URL.
    /// </summary>
    public async Task<IResult> PoolAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        var members = await pool.ListAsync(cancellationToken);
        return Results.Ok(new
        {
            size = Math.Max(0, poolOptions.CurrentValue.Size),
            ready = members.Count(m => m.Status == Pool.PoolStatus.Ready),
            warming = members.Count(m => m.Status == Pool.PoolStatus.Warming),
            failed = members.Count(m => m.Status == Pool.PoolStatus.Failed),
            draining = members.Count(m => m.Status == Pool.PoolStatus.Draining),
            plan = poolOptions.CurrentValue.Plan,
            members = members.Select(m => new { id = m.Id, status = m.Status, plan = m.Plan, accessUrl = m.AccessUrl, createdAt = m.CreatedAt, readyAt = m.ReadyAt, checkedAt = m.CheckedAt, error = m.Error }),
        });
    }

    public async Task<IResult> ListAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        return Results.Ok(new
        {
            open = await orphans.ListOpenAsync(cancellationToken),
            recentSweeps = await orphans.RecentSweepsAsync(10, cancellationToken),
        });
    }

    public async Task<IResult> SweepAsync(HttpRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        return Results.Ok(await sweeper.SweepAsync(durable, sweep.Value.ClaimedBefore(clock.GetUtcNow()), cancellationToken));
    }

    public async Task<IResult> RetryAsync(HttpRequest request, string customerId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (!Providers.CustomerIds.IsValid(customerId) || !await lifecycleStore.RequestRetryAsync(customerId, cancellationToken))
        {
            return UnknownCustomer(customerId);
        }

        var run = await lifecycle.KickAsync(durable, customerId, cancellationToken);
        var note = run is not null ? "lifecycle run claimed and queued to start"
            : lifecycle.IsPaused ? "provisioning is paused (Provisioning:Paused): the run starts when it resumes"
            : "a lifecycle run holds the customer; it will look again before letting go";
        return Results.Accepted(value: new { customerId, run, note });
    }

    private static readonly System.Text.RegularExpressions.Regex SubscriptionShape = new("^sub_[A-Za-z0-9_]{1,250}$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>
    /// <c>POST /api/operator/customers/{id}/subscription</c> <c>{"subscriptionId": "sub_…"}</c>: binds an existing
    /// subscription to a customer that has no Checkout Session of ours (the mock era's). The webhook's rules then
    /// apply: only that subscription's events change the customer. With a Stripe key the subscription is read from
    /// Stripe and its state and plan applied; offline, the events parked for it decide.
    /// </summary>
    public async Task<IResult> BindSubscriptionAsync(HttpRequest request, string customerId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (!RequestBodies.IsJson(request))
        {
            return Problems.UnsupportedMediaType("application/json");
        }

        string? subscriptionId;
        try
        {
            var body = await RequestBodies.ReadLimitedAsync(request, 4 * 1024, cancellationToken);
            subscriptionId = body is null ? null : System.Text.Json.JsonSerializer.Deserialize<BindSubscriptionRequest>(body, RequestBodies.Json)?.SubscriptionId;
        }
        catch (System.Text.Json.JsonException)
        {
            subscriptionId = null;
        }

        if (subscriptionId is null || !SubscriptionShape.IsMatch(subscriptionId))
        {
            return Problems.BadRequest("Subscription id required", "Send {\"subscriptionId\": \"sub_…\"}: the id of the customer's existing Stripe subscription.");
        }

        if (await KnownAsync(customerId, cancellationToken) is null)
        {
            return UnknownCustomer(customerId);
        }

        var facts = new List<BillingFact>();
        if (!stripeOptions.Value.IsOffline)
        {
            if (await stripe.SubscriptionAsync(subscriptionId, cancellationToken) is not { } current)
            {
                return Results.Problem($"Stripe did not give subscription {subscriptionId} (it does not exist in this account, or Stripe is unreachable); nothing was bound.",
                    statusCode: 502, title: "Subscription not readable");
            }

            var read = SubscriptionFacts.Of(plans, current, clock.GetUtcNow(), deleted: false, strictPrice: true);
            if (read.Refusal is { } refusal)
            {
                return Problems.BadRequest(refusal.Title, refusal.Detail);
            }

            facts.Add(read.Fact!);
        }

        var outcome = await lifecycle.BindAsync(durable, customerId, subscriptionId, facts, cancellationToken);
        return StripeWebhookHandler.RefusedOutcomes.Contains(outcome)
            ? Results.Problem($"Not bound: {outcome} (a customer has one subscription, and a subscription one customer).", statusCode: 409, title: "Subscription conflict")
            : Results.Ok(new { customerId, subscriptionId, outcome });
    }

    /// <summary>
    /// <c>POST /api/operator/reseal</c>: every sealed value under the current <c>Security:EncryptionKey</c>, bound to its
    /// row. Run it after a rotation (old keys in <c>Security:PreviousEncryptionKeys</c>); when <c>failed</c> is empty,
    /// the previous keys can be removed.
    /// </summary>
    public async Task<IResult> ResealAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        var report = await rotation.ResealAsync(cancellationToken);
        return Results.Ok(new { report.Resealed, report.AlreadyCurrent, report.Failed });
    }

    /// <summary>
    /// <c>GET /api/operator/customers/{id}</c>: where the customer stands (status, step, plan, billing, errors) and
    /// the model tokens used this month against the plan's budget, as the gateway counted them. No secret, no hash.
    /// </summary>
    public async Task<IResult> CustomerAsync(HttpRequest request, string customerId, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (await KnownAsync(customerId, cancellationToken) is not { } customer)
        {
            return UnknownCustomer(customerId);
        }

        var period = Gateway.ModelUsageStore.PeriodOf(clock.GetUtcNow());
        var tokens = await usage.GetAsync(customer.Id, period, cancellationToken);
        var plan = PlanCatalog.Get(customer.Plan);
        return Results.Ok(new
        {
            id = customer.Id,
            email = customer.Email,
            test = customer.IsTest,
            status = customer.Status,
            step = customer.Step,
            plan = plan.Name,
            desiredPlan = customer.DesiredPlan,
            billingState = customer.BillingState,
            accessUrl = customer.AccessUrl,
            workspaceId = customer.WorkspaceId,
            serviceId = customer.InstanceId,
            subscriptionId = customer.StripeSubscriptionId,
            createdAt = customer.CreatedAt,
            provisionedAt = customer.ProvisionedAt,
            failureReason = customer.FailureReason,
            lifecycleError = customer.LifecycleError,
            stripeCustomerId = customer.StripeCustomerId,
            billingStateAt = customer.BillingStateAt,
            importedAt = customer.ImportedAt,
            // The lifecycle: what Stripe last asked for (desired) against what was done (applied), and the run holding it.
            lifecycle = new
            {
                desiredVersion = customer.DesiredVersion,
                appliedVersion = customer.AppliedVersion,
                run = customer.LifecycleInstance,
                claimedAt = customer.LifecycleClaimedAt,
                provisioningRun = customer.OrchestrationId,
            },
            // Every step of every run, oldest first, with its duration and error.
            steps = (await customers.GetStepsAsync(customer.Id, null, cancellationToken)).Select(s => new
            {
                name = s.Name,
                status = s.Status,
                startedAt = s.StartedAt,
                completedAt = s.CompletedAt,
                durationMs = s.DurationMs,
                error = s.Error,
            }),
            // The reference a failed customer is shown (the run's operation id), to find the run in the logs.
            reference = Provisioning.CustomerFacing.Reference(customer.Id, customer.OrchestrationId),
            // What was sent and what is still being retried; never a body (a sign-in link is a credential).
            emails = await emails.ListAsync(customer.Id, cancellationToken),
            // What the providers hold for this customer now (each lists its SetupClaw resources).
            resources = new
            {
                database = (await database.ListAsync(cancellationToken)).Holds(customer.Id, customer.DatabaseBranchId),
                service = (await compute.ListAsync(cancellationToken)).Holds(customer.Id, customer.RailwayServiceId),
                // running, sleeping (idle, woken by its next request), deploying, down, ...; asking does not wake it.
                serviceState = customer.RailwayServiceId is { } serviceId ? await compute.StateOrUnknownAsync(new ResourceRef(customer.Id, serviceId), cancellationToken) : null,
            },
            modelTokens = new
            {
                month = period.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture),
                input = tokens.InputTokens,
                output = tokens.OutputTokens,
                used = tokens.Total,
                budget = plans.TokenBudgetOf(plan),
                requests = tokens.Requests,
                resetsOn = period.AddMonths(1),
            },
        });
    }

    /// <summary>
    /// <c>POST /api/operator/backfill[?after={customerId}&amp;limit={n}]</c>: gateway tokens, identities and service
    /// variables for assistants provisioned earlier, one page at a time; call again with <c>after</c> = the answer's
    /// <c>next</c> until it is null.
    /// </summary>
    public async Task<IResult> BackfillAsync(HttpRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (lifecycle.IsPaused)
        {
            return Problems.Conflict("Provisioning is paused",
                "Provisioning is paused (Provisioning:Paused): the backfill changes running assistants, so it waits until the switch is off.");
        }

        if (PageOf(request, AssistantBackfill.DefaultPageSize, out var after, out var limit) is { } invalid)
        {
            return invalid;
        }

        var report = await backfill.RunAsync(durable, after, limit, cancellationToken);
        return Results.Ok(new { report.Updated, report.TokensIssued, report.Skipped, report.Failed, report.Next });
    }

    private static readonly string[] Statuses =
    [
        CustomerStatus.Pending, CustomerStatus.Provisioning, CustomerStatus.Active, CustomerStatus.Failed, CustomerStatus.Suspended,
        CustomerStatus.Deprovisioning, CustomerStatus.Deprovisioned, CustomerStatus.Grandfathered,
    ];

    /// <summary>
    /// <c>GET /api/operator/customers[?status=S&amp;plan=P&amp;after={id}&amp;limit=N]</c>: customers newest first, a page
    /// at a time (<c>next</c> is the <c>after</c> of the next page, null on the last); no secret, no hash.
    /// </summary>
    public async Task<IResult> CustomersAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        var status = request.Query["status"].ToString() is { Length: > 0 } s ? s : null;
        if (status is not null && !Statuses.Contains(status))
        {
            return Problems.BadRequest("Unknown status", $"'status' must be one of {string.Join(", ", Statuses)}.");
        }

        var planName = request.Query["plan"].ToString() is { Length: > 0 } p ? p : null;
        if (planName is not null && !PlanCatalog.TryGet(planName, out _))
        {
            return Problems.BadRequest("Unknown plan", $"There is no plan '{Problems.Echo(planName)}': use starter, pro or team.");
        }

        if (PageOf(request, 100, out var after, out var limit) is { } invalid)
        {
            return invalid;
        }

        var page = await customers.ListAsync(status, planName is null ? null : PlanCatalog.Get(planName).Name, after, limit, cancellationToken);
        return Results.Ok(new
        {
            customers = page.Customers.Select(c => new
            {
                id = c.Id,
                email = c.Email,
                status = c.Status,
                plan = c.Plan,
                accessUrl = c.AccessUrl,
                createdAt = c.CreatedAt,
                billingState = c.BillingState,
                test = c.IsTest,
                imported = c.ImportedAt is not null,
            }),
            next = page.Next,
        });
    }

    /// <summary>
    /// <c>POST /api/operator/customers/{id}/provision</c>: a grandfathered customer (imported from the mock era) gets its
    /// assistant through the lifecycle, bound to its existing subscription. Only while Stripe says the subscription is
    /// active; any other customer is refused with where it stands.
    /// </summary>
    public async Task<IResult> ProvisionAsync(HttpRequest request, string customerId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (await KnownAsync(customerId, cancellationToken) is not { } customer)
        {
            return UnknownCustomer(customerId);
        }

        if (customer.Status != CustomerStatus.Grandfathered)
        {
            return Problems.Conflict("Not grandfathered",
                $"{customer.Id} is {customer.Status}, not grandfathered: nothing to provision" +
                (customer.Status == CustomerStatus.Failed ? $". A failed customer is run again with POST /api/operator/customers/{customer.Id}/retry (customers retry)." : "."));
        }

        if (!await customers.ReleaseGrandfatheredAsync(customer.Id, cancellationToken))
        {
            return Problems.Conflict("Subscription not active",
                $"Stripe says {customer.Id}'s subscription is {customer.BillingState}: it is provisioned once the subscription is active (paid).");
        }

        var run = await lifecycle.KickAsync(durable, customer.Id, cancellationToken);
        return Results.Accepted(value: new
        {
            customerId = customer.Id,
            run,
            note = run is not null ? "provisioning started" : lifecycle.IsPaused ? "provisioning is paused (Provisioning:Paused): it starts when it resumes" : "a lifecycle run holds the customer; it starts after it",
        });
    }

    /// <summary>
    /// <c>POST /api/operator/customers/{id}/deprovision</c>: removes the customer's assistant (service, then an archive
    /// of its data, then its database) through the lifecycle, as a cancellation would. Stripe is not touched: cancel
    /// the subscription there too if billing should stop, or its next event is recorded and changes nothing.
    /// </summary>
    public async Task<IResult> DeprovisionAsync(HttpRequest request, string customerId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        if (await KnownAsync(customerId, cancellationToken) is not { } customer)
        {
            return UnknownCustomer(customerId);
        }

        if (customer.Status == CustomerStatus.Deprovisioned)
        {
            return Results.Ok(new { customerId = customer.Id, outcome = "already deprovisioned", note = "nothing left to remove" });
        }

        var outcome = await lifecycle.RecordAsync(durable, customer.Id, new BillingFact(clock.GetUtcNow(), BillingStates.Cancelled), cancellationToken);
        return Results.Accepted(value: new
        {
            customerId = customer.Id,
            outcome,
            note = customer.StripeSubscriptionId is { } subscription && !customer.IsTest
                ? $"deprovisioning; Stripe subscription {subscription} is not touched: cancel it there if billing should stop"
                : "deprovisioning",
        });
    }

    /// <summary>The customer named by a route, or null when the id is malformed or unknown.</summary>
    private async Task<Customer?> KnownAsync(string customerId, CancellationToken cancellationToken) =>
        Providers.CustomerIds.IsValid(customerId) ? await customers.GetAsync(customerId, cancellationToken) : null;

    /// <summary>A paged route's <c>after</c> (a customer id: the previous answer's <c>next</c>) and <c>limit</c> (1 to 500); the problem to answer when either is wrong.</summary>
    private static IResult? PageOf(HttpRequest request, int defaultLimit, out string? after, out int limit)
    {
        after = request.Query["after"].ToString() is { Length: > 0 } cursor ? cursor : null;
        limit = defaultLimit;
        if (after is not null && !Providers.CustomerIds.IsValid(after))
        {
            return Problems.BadRequest("Invalid cursor", "'after' must be a customer id (cus_ and 20 hex digits): the 'next' of the previous answer.");
        }

        if (request.Query["limit"].ToString() is { Length: > 0 } text && !(int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out limit) && limit is >= 1 and <= 500))
        {
            return Problems.BadRequest("Invalid limit", "'limit' must be a whole number from 1 to 500.");
        }

        return null;
    }

    private static IResult UnknownCustomer(string customerId) =>
        Problems.NotFound($"There is no customer '{Problems.Echo(customerId)}'.");
}

/// <summary>The body of <c>POST /api/operator/customers/{id}/subscription</c>.</summary>
public sealed record BindSubscriptionRequest(string? SubscriptionId);
