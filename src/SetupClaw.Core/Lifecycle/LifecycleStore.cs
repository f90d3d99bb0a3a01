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
        var outcome = await ApplyAsync(connection, transaction, customerId, fact, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return outcome;
    }

    /// <summary>
    /// Binds <paramref name="subscriptionId"/> to the customer (a checkout of the customer's own session, or the
    /// operator), applies <paramref name="facts"/>, then every event parked for that subscription (newest wins), in
    /// one transaction under the subscription's lock, so an event that is being parked meanwhile is either parked
    /// before (and applied here) or finds the subscription bound.
    /// </summary>
    public async Task<BindOutcome> BindAsync(string customerId, string subscriptionId, IReadOnlyList<BillingFact> facts, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(facts);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockSubscriptionAsync(connection, transaction, subscriptionId, cancellationToken);
        await using (var current = new NpgsqlCommand("select stripe_subscription_id from customers where id = @id for update", connection, transaction))
        {
            Sql.Add(current, ("id", customerId));
            await using var reader = await current.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new BindOutcome(BindResult.UnknownCustomer, null);
            }

            if (!reader.IsDBNull(0) && reader.GetString(0) != subscriptionId)
            {
                return new BindOutcome(BindResult.CustomerBoundToAnother, null);
            }
        }

        await using (var taken = new NpgsqlCommand("select 1 from customers where stripe_subscription_id = @sub and id <> @id", connection, transaction))
        {
            Sql.Add(taken, ("id", customerId), ("sub", subscriptionId));
            if (await taken.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return new BindOutcome(BindResult.SubscriptionBoundToAnother, null);
            }
        }

        await using (var write = new NpgsqlCommand("update customers set stripe_subscription_id = @sub, updated_at = now() where id = @id", connection, transaction))
        {
            Sql.Add(write, ("id", customerId), ("sub", subscriptionId));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

        var all = facts.ToList();
        await using (var parked = new NpgsqlCommand(
            "delete from parked_stripe_events where subscription_id = @sub returning billing_state, plan, fact_at, stripe_customer_id", connection, transaction))
        {
            Sql.Add(parked, ("sub", subscriptionId));
            await using var reader = await parked.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                all.Add(new BillingFact(reader.GetFieldValue<DateTimeOffset>(2), reader.IsDBNull(0) ? null : reader.GetString(0),
                    reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(3) ? null : reader.GetString(3), subscriptionId));
            }
        }

        FactOutcome? first = null, last = null;
        var changed = false;
        foreach (var fact in all.OrderBy(f => f.At))
        {
            last = await ApplyAsync(connection, transaction, customerId, fact, cancellationToken);
            first ??= last;
            changed |= last?.Changed == true;
        }

        await transaction.CommitAsync(cancellationToken);
        return new BindOutcome(BindResult.Bound,
            last is null ? null : last with { Changed = changed, PreviousState = first!.PreviousState },
            all.Count - facts.Count);
    }

    /// <summary>
    /// Keeps an event about a subscription no customer is bound to yet, to apply when a checkout binds it; all under
    /// the subscription's lock, so a binding in progress is either seen or sees this event. Instead, when the
    /// subscription was bound meanwhile: its customer (the caller applies the event); when the customer the event
    /// names (<paramref name="namedCustomerId"/>) has another subscription bound: nothing is kept.
    /// </summary>
    public async Task<(ParkResult Result, string? CustomerId)> ParkAsync(
        string eventId, string eventType, string subscriptionId, string? namedCustomerId, BillingFact fact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fact);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockSubscriptionAsync(connection, transaction, subscriptionId, cancellationToken);
        await using (var bound = new NpgsqlCommand("select id from customers where stripe_subscription_id = @sub", connection, transaction))
        {
            Sql.Add(bound, ("sub", subscriptionId));
            if (await bound.ExecuteScalarAsync(cancellationToken) is string customerId)
            {
                return (ParkResult.BoundMeanwhile, customerId);
            }
        }

        if (namedCustomerId is not null)
        {
            await using var other = new NpgsqlCommand(
                "select 1 from customers where id = @id and stripe_subscription_id is not null and stripe_subscription_id <> @sub", connection, transaction);
            Sql.Add(other, ("id", namedCustomerId), ("sub", subscriptionId));
            if (await other.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return (ParkResult.OtherSubscription, namedCustomerId);
            }
        }

        await using (var park = new NpgsqlCommand(
            """
            insert into parked_stripe_events (event_id, event_type, subscription_id, stripe_customer_id, billing_state, plan, fact_at)
            values (@event, @type, @sub, @customer, @state, @plan, @at) on conflict (event_id) do nothing
            """, connection, transaction))
        {
            Sql.Add(park, ("event", eventId), ("type", eventType), ("sub", subscriptionId), ("customer", fact.StripeCustomerId),
                ("state", fact.State), ("plan", fact.Plan), ("at", fact.At));
            await park.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return (ParkResult.Parked, null);
    }

    private const int SubscriptionLockSpace = 0x5c1a;

    /// <summary>Drops parked events older than <paramref name="before"/> (the sweep: 30 days). Returns how many.</summary>
    public Task<int> DropParkedAsync(DateTimeOffset before, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "delete from parked_stripe_events where parked_at < @before", cancellationToken, ("before", before));

    private static async Task LockSubscriptionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string subscriptionId, CancellationToken cancellationToken)
    {
        // The two-key form: a key space of its own, apart from the migrations' single bigint lock.
        await using var command = new NpgsqlCommand("select pg_advisory_xact_lock(@space, hashtext(@sub))", connection, transaction);
        Sql.Add(command, ("space", SubscriptionLockSpace));
        Sql.Add(command, ("sub", subscriptionId));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<FactOutcome?> ApplyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string customerId, BillingFact fact, CancellationToken cancellationToken)
    {
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
        // The subscription and the checkout session are never written here: signup stores the session, a binding the subscription.
        await using (var write = new NpgsqlCommand(
            """
            update customers set billing_state = @state, billing_state_at = @state_at::timestamptz, desired_plan = @plan, plan_fact_at = @plan_at::timestamptz,
                desired_version = @version,
                stripe_customer_id = coalesce(stripe_customer_id, @stripe_customer),
                updated_at = now()
            where id = @id
            """, connection, transaction))
        {
            Sql.Add(write, ("id", customerId), ("state", newState), ("state_at", newStateAt), ("plan", newPlan), ("plan_at", newPlanAt),
                ("version", newVersion), ("stripe_customer", fact.StripeCustomerId));
            await write.ExecuteNonQueryAsync(cancellationToken);
        }

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

    /// <summary>Whether <paramref name="instance"/> still holds the customer (a queued start checks before scheduling).</summary>
    public async Task<bool> HoldsAsync(string customerId, string instance, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db, "select 1 from customers where id = @id and lifecycle_instance = @instance", ("id", customerId), ("instance", instance));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
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

    /// <summary>The customer's archive (gzip JSON) and when it was made, or null when there is none.</summary>
    public async Task<(DateTimeOffset ArchivedAt, byte[] Content)?> GetArchiveAsync(string customerId, CancellationToken cancellationToken)
    {
        await using var command = Sql.Command(db, "select archived_at, content from customer_archives where customer_id = @id", ("id", customerId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<byte[]>(1)) : null;
    }

    /// <summary>When the customer's archive was made, or null; without reading the archive itself.</summary>
    public async Task<DateTimeOffset?> ArchivedAtAsync(string customerId, CancellationToken cancellationToken) =>
        await Sql.ScalarAsync<DateTime?>(db, "select archived_at from customer_archives where customer_id = @id", cancellationToken, ("id", customerId)) is { } at
            ? new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc))
            : null;

    /// <summary>Deletes archives older than <paramref name="retention"/> (the customer was told the date); returns how many.</summary>
    public Task<int> PurgeArchivesAsync(TimeSpan retention, CancellationToken cancellationToken) =>
        Sql.ExecuteAsync(db, "delete from customer_archives where archived_at < now() - @retention", cancellationToken, ("retention", retention));
}

public sealed record LifecycleClaim(string CustomerId, string InstanceId, int Run);

public enum ParkResult
{
    Parked,

    /// <summary>A checkout bound the subscription meanwhile: apply the event to its customer.</summary>
    BoundMeanwhile,

    /// <summary>The customer the event names has another subscription bound: the event changes nothing.</summary>
    OtherSubscription,
}

public enum BindResult
{
    Bound,
    UnknownCustomer,

    /// <summary>The customer already has another subscription bound.</summary>
    CustomerBoundToAnother,

    /// <summary>Another customer has this subscription.</summary>
    SubscriptionBoundToAnother,
}

/// <summary>What a binding did: its result, the stored state after its facts (null when refused), and how many parked events it applied.</summary>
public sealed record BindOutcome(BindResult Result, FactOutcome? Facts, int ParkedApplied = 0);

public sealed record Unsettled(string CustomerId, string? Instance, DateTimeOffset? ClaimedAt, int Runs);
