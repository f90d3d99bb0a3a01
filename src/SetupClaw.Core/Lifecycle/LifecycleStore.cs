using Npgsql;
using SetupClaw.Data;

namespace SetupClaw.Lifecycle;

/// <summary>
/// The control database's side of the lifecycle: Stripe's facts (applied newest-wins, by event time), the desired
/// version they raise, and the per-customer lease that lets one lifecycle run at a time converge the customer.
/// </summary>
public sealed class LifecycleStore(NpgsqlDataSource db)
{
    public async Task<FactOutcome?> ApplyFactAsync(string customerId, BillingFact fact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fact);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string state, plan;
        string? desiredPlan;
        DateTimeOffset? stateAt, planAt;
        long version;
        await using (var read = new NpgsqlCommand(
            "select billing_state, billing_state_at, desired_plan, plan_fact_at, plan, desired_version from customers where id = @id for update",
            connection, transaction))
        {
            read.Parameters.AddWithValue("id", customerId);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            state = reader.GetString(0);
            stateAt = reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1);
            desiredPlan = reader.IsDBNull(2) ? null : reader.GetString(2);
            planAt = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
            plan = reader.GetString(4);
            version = reader.GetInt64(5);
        }

        var (newState, newStateAt) = NextState(state, stateAt, fact);
        var (newPlan, newPlanAt) = fact.Plan is not null && (planAt is null || fact.At >= planAt) ? (fact.Plan, fact.At) : (desiredPlan, planAt);
        var changed = newState != state || (newPlan ?? plan) != (desiredPlan ?? plan);
        var newVersion = changed ? version + 1 : version;
        await using (var write = new NpgsqlCommand(
            """
            update customers set billing_state = @state, billing_state_at = @state_at::timestamptz, desired_plan = @plan, plan_fact_at = @plan_at::timestamptz,
                desired_version = @version,
                stripe_customer_id = coalesce(stripe_customer_id, @stripe_customer),
                stripe_subscription_id = coalesce(stripe_subscription_id, @subscription),
                stripe_checkout_session_id = coalesce(stripe_checkout_session_id, @session),
                updated_at = now()
            where id = @id
            """, connection, transaction))
        {
            Sql.Add(write, ("id", customerId), ("state", newState), ("state_at", newStateAt), ("plan", newPlan), ("plan_at", newPlanAt),
                ("version", newVersion), ("stripe_customer", fact.StripeCustomerId), ("subscription", fact.SubscriptionId), ("session", fact.CheckoutSessionId));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new FactOutcome(changed, newState, state, newPlan, newVersion);
    }

    /// <summary>Newest fact wins, except that a cancellation is final.</summary>
    public static (string State, DateTimeOffset? At) NextState(string current, DateTimeOffset? currentAt, BillingFact fact)
    {
        ArgumentNullException.ThrowIfNull(fact);
        if (fact.State is null || current == BillingStates.Cancelled)
        {
            return (current, currentAt);
        }

        return fact.State == BillingStates.Cancelled || currentAt is null || fact.At >= currentAt
            ? (fact.State, fact.At)
            : (current, currentAt);
    }

    /// <summary>Takes the customer for a new lifecycle run when there is work and no run holds it. Returns the run's instance id.</summary>
    public async Task<LifecycleClaim?> ClaimAsync(string customerId, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db,
            """
            update customers set lifecycle_runs = lifecycle_runs + 1, lifecycle_claimed_at = now(),
                lifecycle_instance = 'lifecycle-' || id || '-' || (lifecycle_runs + 1)
            where id = @id and lifecycle_instance is null and applied_version < desired_version
            returning lifecycle_instance, lifecycle_runs
            """, ("id", customerId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new LifecycleClaim(customerId, reader.GetString(0), reader.GetInt32(1)) : null;
    }

    /// <summary>
    /// Lets go of the customer only if nothing changed since <paramref name="version"/> was read; false means a newer
    /// fact arrived and the run must look again (so a change made while it finished is never lost).
    /// </summary>
    public async Task<bool> ReleaseAsync(string customerId, string instance, long version, string? error, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db,
            """
            update customers set lifecycle_instance = null, lifecycle_claimed_at = null, applied_version = @version,
                lifecycle_error = @error, updated_at = now()
            where id = @id and lifecycle_instance = @instance and desired_version = @version
            """, cancellationToken, ("id", customerId), ("instance", instance), ("version", version), ("error", error)) == 1;

    /// <summary>Takes a free customer for a short job outside a lifecycle run (the sweep), under <paramref name="holder"/>.</summary>
    public async Task<bool> TryHoldAsync(string customerId, string holder, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db,
            "update customers set lifecycle_instance = @holder, lifecycle_claimed_at = now() where id = @id and lifecycle_instance is null",
            cancellationToken, ("id", customerId), ("holder", holder)) == 1;

    public Task<int> LetGoAsync(string customerId, string holder, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db,
            "update customers set lifecycle_instance = null, lifecycle_claimed_at = null where id = @id and lifecycle_instance = @holder",
            cancellationToken, ("id", customerId), ("holder", holder));

    /// <summary>Customers with work to do or a run holding them: what the sweep checks for lost or stuck runs.</summary>
    public async Task<IReadOnlyList<Unsettled>> ListUnsettledAsync(CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db,
            "select id, lifecycle_instance, lifecycle_claimed_at, lifecycle_runs from customers where applied_version < desired_version or lifecycle_instance is not null");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Unsettled>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new Unsettled(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt32(3)));
        }

        return list;
    }

    /// <summary>The operator's retry: one more version to converge to, and the last error cleared. False for an unknown customer.</summary>
    public async Task<bool> RequestRetryAsync(string customerId, CancellationToken cancellationToken) =>
        await Sql.ExecuteAsync(db, "update customers set desired_version = desired_version + 1, lifecycle_error = null, updated_at = now() where id = @id",
            cancellationToken, ("id", customerId)) == 1;

    public Task SetPlanAsync(string customerId, string plan, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "update customers set plan = @plan, updated_at = now() where id = @id", cancellationToken, ("id", customerId), ("plan", plan));

    public Task SaveArchiveAsync(string customerId, byte[] content, string counts, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db,
            """
            insert into customer_archives (customer_id, bytes, counts, content) values (@id, @bytes, @counts::jsonb, @content)
            on conflict (customer_id) do update set archived_at = now(), bytes = excluded.bytes, counts = excluded.counts, content = excluded.content
            """, cancellationToken, ("id", customerId), ("bytes", content.Length), ("counts", counts), ("content", content));
}

public sealed record LifecycleClaim(string CustomerId, string InstanceId, int Run);

public sealed record Unsettled(string CustomerId, string? Instance, DateTimeOffset? ClaimedAt, int Runs);
