using Npgsql;
using SetupClaw.Data;

namespace SetupClaw.Customers;

/// <summary>
/// The one writer of <c>customers.provisioning_status</c>: every move between <see cref="CustomerStatus"/> values is a
/// conditional update here, so a newcomer finds every transition in one file.
/// </summary>
internal sealed class PostgresCustomerStore(NpgsqlDataSource db) : ICustomerStore
{
    private const string Columns =
        "id, email, name, assistant_name, plan, status_token_hash, stripe_customer_id, stripe_subscription_id, " +
        "workspace_id, instance_id, access_url, api_key_hash, api_key_encrypted, api_key_hint, api_key_revealed_at, " +
        "database_branch_id, database_url_encrypted, railway_service_id, provisioning_status, provisioning_step, " +
        "failure_reason, orchestration_id, provisioning_started_at, provisioned_at, created_at, billing_state, billing_state_at, " +
        "desired_plan, desired_version, applied_version, lifecycle_instance, lifecycle_claimed_at, lifecycle_error, suspended_at, stripe_checkout_session_id, gateway_token_hash, gateway_token_encrypted, is_test, imported_at";

    public Task CreateAsync(NewCustomer customer, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "insert into customers (id, email, name, assistant_name, plan, status_token_hash, stripe_checkout_session_id, is_test) values (@id, @email, @name, @assistant, @plan, @token, @session, @test)",
            cancellationToken,
            ("id", customer.Id), ("email", customer.Email), ("name", customer.Name), ("assistant", customer.AssistantName),
            ("plan", customer.Plan), ("token", customer.StatusTokenHash), ("session", customer.CheckoutSessionId), ("test", customer.IsTest));

    public async Task<Customer?> GetAsync(string customerId, CancellationToken cancellationToken) =>
        (await QueryAsync($"select {Columns} from customers where id = @id", cancellationToken, ("id", customerId))).SingleOrDefault();

    public async Task<Customer?> FindBySubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
        (await QueryAsync($"select {Columns} from customers where stripe_subscription_id = @sub order by created_at desc limit 1", cancellationToken, ("sub", subscriptionId))).SingleOrDefault();

    public Task<IReadOnlyList<Customer>> ListByStatusAsync(string status, CancellationToken cancellationToken) =>
        QueryAsync($"select {Columns} from customers where provisioning_status = @status order by created_at", cancellationToken, ("status", status));

    public async Task<CustomerPage> ListAsync(string? status, string? plan, string? after, int limit, CancellationToken cancellationToken)
    {
        // Keyset paging on (created_at, id): a customer created while the operator pages shows up on no page twice.
        var page = await QueryAsync(
            $"""
            select {Columns} from customers
            where (@status::text is null or provisioning_status = @status) and (@plan::text is null or plan = @plan)
              and (@after::text is null or (created_at, id) < (select created_at, id from customers where id = @after))
            order by created_at desc, id desc limit @limit
            """,
            cancellationToken, ("status", status), ("plan", plan), ("after", after), ("limit", limit + 1));
        return page.Count > limit ? new CustomerPage(page.Take(limit).ToList(), page[limit - 1].Id) : new CustomerPage(page, null);
    }

    public async Task<Customer?> FindImportedAsync(string stripeCustomerId, CancellationToken cancellationToken) =>
        (await QueryAsync($"select {Columns} from customers where stripe_customer_id = @stripe and imported_at is not null", cancellationToken, ("stripe", stripeCustomerId))).SingleOrDefault();

    public async Task<(Customer Customer, bool Created)> ImportAsync(ImportedCustomer customer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var created = await ExecuteAsync(
            """
            insert into customers (id, email, plan, status_token_hash, stripe_customer_id, provisioning_status, provisioning_step, billing_state,
                                   imported_at, mock_source_id, deprovisioned_at)
            values (@id, @email, @plan, @token, @stripe, @status, @status, case when @status = 'deprovisioned' then 'cancelled' else 'awaiting_payment' end,
                    now(), @source, case when @status = 'deprovisioned' then now() end)
            on conflict (stripe_customer_id) where imported_at is not null do nothing
            """,
            cancellationToken, ("id", customer.Id), ("email", customer.Email), ("plan", customer.Plan), ("token", customer.StatusTokenHash),
            ("stripe", customer.StripeCustomerId), ("status", customer.Status), ("source", customer.SourceId)) == 1;
        return (await FindImportedAsync(customer.StripeCustomerId, cancellationToken)
            ?? throw new InvalidOperationException($"The import of {customer.StripeCustomerId} is neither new nor found."), created);
    }

    public async Task<bool> ReleaseGrandfatheredAsync(string customerId, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            """
            update customers set provisioning_status = 'pending', provisioning_step = null, desired_version = desired_version + 1,
                lifecycle_error = null, updated_at = now()
            where id = @id and provisioning_status = 'grandfathered' and billing_state = 'active'
            """,
            cancellationToken, ("id", customerId)) == 1;

    public Task<IReadOnlyList<Customer>> ListByEmailAsync(string email, CancellationToken cancellationToken) =>
        QueryAsync($"select {Columns} from customers where lower(email) = lower(@email) and not is_test and provisioning_status <> 'pending' order by created_at desc limit 10",
            cancellationToken, ("email", email));

    public async Task<bool> RotateCredentialsAsync(
        string customerId, string apiKeyHash, string apiKeyHint, string gatewayTokenHash, string gatewayTokenEncrypted,
        Func<Customer, CancellationToken, Task> apply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(apply);
        await using var connection = await db.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        Customer? customer;
        await using (var locked = new NpgsqlCommand($"select {Columns} from customers where id = @id for update", connection, transaction))
        {
            Add(locked, ("id", customerId));
            await using var reader = await locked.ExecuteReaderAsync(cancellationToken);
            customer = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }

        // A lifecycle run writes the identity from the row it read: it must not put the old key back.
        if (customer is not { Status: CustomerStatus.Active, LifecycleInstance: null })
        {
            return false;
        }

        await using (var update = new NpgsqlCommand(
            """
            update customers set api_key_hash = @key, api_key_hint = @hint, api_key_encrypted = null, api_key_revealed_at = now(),
                gateway_token_hash = @gateway, gateway_token_encrypted = @gatewaySealed, updated_at = now()
            where id = @id
            """, connection, transaction))
        {
            Add(update, ("id", customerId), ("key", apiKeyHash), ("hint", apiKeyHint), ("gateway", gatewayTokenHash), ("gatewaySealed", gatewayTokenEncrypted));
            await update.ExecuteNonQueryAsync(cancellationToken);
        }

        // From the runtime's write on, nothing is cancelled half-way: a runtime holding the new key while this database
        // kept the old one would lock the customer out. If the commit fails after all, the old identity is put back.
        await apply(customer with
        {
            ApiKeyHash = apiKeyHash,
            ApiKeyHint = apiKeyHint,
            ApiKeyEncrypted = null,
            GatewayTokenHash = gatewayTokenHash,
            GatewayTokenEncrypted = gatewayTokenEncrypted,
        }, CancellationToken.None);
        try
        {
            await transaction.CommitAsync(CancellationToken.None);
        }
        catch
        {
            await apply(customer, CancellationToken.None);
            throw;
        }

        return true;
    }

    public async Task<bool> BeginProvisioningAsync(string customerId, string orchestrationId, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            """
            update customers set
                plan = coalesce(desired_plan, plan),
                provisioning_status = 'provisioning', provisioning_step = 'queued', failure_reason = null,
                orchestration_id = @orchestration, provisioning_started_at = now(), updated_at = now()
            where id = @id and provisioning_status in ('pending', 'failed', 'provisioning')
            """,
            cancellationToken, ("id", customerId), ("orchestration", orchestrationId)) == 1;

    public async Task<string> ReserveCredentialsAsync(string customerId, string workspaceId, string apiKeyHash, string apiKeyEncrypted, string apiKeyHint, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            """
            update customers set
                workspace_id = coalesce(workspace_id, @ws),
                api_key_hash = case when api_key_hash is null then @hash else api_key_hash end,
                api_key_encrypted = case when api_key_hash is null then @enc else api_key_encrypted end,
                api_key_hint = case when api_key_hash is null then @hint else api_key_hint end,
                provisioning_step = 'reserve_credentials', updated_at = now()
            where id = @id
            returning workspace_id
            """);
        Add(command, ("id", customerId), ("ws", workspaceId), ("hash", apiKeyHash), ("enc", apiKeyEncrypted), ("hint", apiKeyHint));
        return await command.ExecuteScalarAsync(cancellationToken) as string
            ?? throw Provisioning.Failures.CustomerNotFound(customerId);
    }

    public Task ReserveGatewayTokenAsync(string customerId, string tokenHash, string tokenEncrypted, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """
            update customers set gateway_token_hash = @hash, gateway_token_encrypted = @sealed, updated_at = now()
            where id = @id and gateway_token_hash is null
            """, cancellationToken, ("id", customerId), ("hash", tokenHash), ("sealed", tokenEncrypted));

    public async Task<Customer?> FindByGatewayTokenAsync(string tokenHash, CancellationToken cancellationToken) =>
        (await QueryAsync($"select {Columns} from customers where gateway_token_hash = @hash", cancellationToken, ("hash", tokenHash))).SingleOrDefault();

    public Task RecordDatabaseAsync(string customerId, string? branchId, string? databaseUrlEncrypted, CancellationToken cancellationToken) =>
        ExecuteAsync("update customers set database_branch_id = @branch, database_url_encrypted = @url, updated_at = now() where id = @id",
            cancellationToken, ("id", customerId), ("branch", branchId), ("url", databaseUrlEncrypted));

    public Task RecordServiceAsync(string customerId, string? serviceId, string? accessUrl, CancellationToken cancellationToken) =>
        ExecuteAsync("update customers set railway_service_id = @service, instance_id = @service, access_url = @url, updated_at = now() where id = @id",
            cancellationToken, ("id", customerId), ("service", serviceId), ("url", accessUrl));

    public Task ActivateAsync(string customerId, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "update customers set provisioning_status = 'active', provisioning_step = 'active', failure_reason = null, provisioned_at = now(), updated_at = now() where id = @id and provisioning_status = 'provisioning'",
            cancellationToken, ("id", customerId));

    public Task MarkFailedAsync(string customerId, string reason, CancellationToken cancellationToken, string? step = null) =>
        ExecuteAsync(
            """
            update customers set provisioning_status = 'failed', failure_reason = @reason, provisioning_step = coalesce(@step, provisioning_step),
                api_key_hash = null, api_key_encrypted = null, database_url_encrypted = null,
                gateway_token_hash = null, gateway_token_encrypted = null, updated_at = now()
            where id = @id and provisioning_status = 'provisioning'
            """,
            cancellationToken, ("id", customerId), ("reason", reason), ("step", step));

    public Task SuspendAsync(string customerId, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "update customers set provisioning_status = 'suspended', provisioning_step = 'suspended', suspended_at = coalesce(suspended_at, now()), updated_at = now() where id = @id and provisioning_status in ('active', 'suspended')",
            cancellationToken, ("id", customerId));

    public Task ResumeAsync(string customerId, CancellationToken cancellationToken) =>
        ExecuteAsync(
            "update customers set provisioning_status = 'active', provisioning_step = 'active', suspended_at = null, updated_at = now() where id = @id and provisioning_status in ('active', 'suspended')",
            cancellationToken, ("id", customerId));

    public async Task<bool> BeginDeprovisioningAsync(string customerId, CancellationToken cancellationToken) =>
        await ExecuteAsync(
            "update customers set provisioning_status = 'deprovisioning', provisioning_step = 'deprovisioning', updated_at = now() where id = @id and provisioning_status <> 'deprovisioned'",
            cancellationToken, ("id", customerId)) == 1;

    public Task CompleteDeprovisioningAsync(string customerId, CancellationToken cancellationToken) =>
        ExecuteAsync(
            """
            update customers set provisioning_status = 'deprovisioned', provisioning_step = 'deprovisioned',
                api_key_hash = null, api_key_encrypted = null, database_url_encrypted = null,
                gateway_token_hash = null, gateway_token_encrypted = null,
                access_url = null, deprovisioned_at = now(), updated_at = now()
            where id = @id
            """,
            cancellationToken, ("id", customerId));

    public Task MarkApiKeyRevealedAsync(string customerId, CancellationToken cancellationToken) =>
        ExecuteAsync("update customers set api_key_revealed_at = coalesce(api_key_revealed_at, now()) where id = @id", cancellationToken, ("id", customerId));

    public Task EraseApiKeyCopyAsync(string customerId, CancellationToken cancellationToken) =>
        ExecuteAsync("update customers set api_key_encrypted = null where id = @id", cancellationToken, ("id", customerId));

    public Task<int> EraseExpiredApiKeyCopiesAsync(TimeSpan window, CancellationToken cancellationToken) =>
        ExecuteAsync("update customers set api_key_encrypted = null where api_key_encrypted is not null and api_key_revealed_at < now() - @window",
            cancellationToken, ("window", window));

    public async Task<IReadOnlyList<(string CustomerId, string Column, string Sealed)>> ListSealedAsync(CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            """
            select id, 'api_key_encrypted', api_key_encrypted from customers where api_key_encrypted is not null
            union all
            select id, 'database_url_encrypted', database_url_encrypted from customers where database_url_encrypted is not null
            union all
            select id, 'gateway_token_encrypted', gateway_token_encrypted from customers where gateway_token_encrypted is not null
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<(string, string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return list;
    }

    public async Task<bool> ReplaceSealedAsync(string customerId, string column, string previous, string resealed, CancellationToken cancellationToken)
    {
        // The column comes from a fixed pair, never from input: safe to name in the statement.
        var name = column switch
        {
            Credentials.SealedColumns.ApiKey => Credentials.SealedColumns.ApiKey,
            Credentials.SealedColumns.DatabaseUrl => Credentials.SealedColumns.DatabaseUrl,
            Credentials.SealedColumns.GatewayToken => Credentials.SealedColumns.GatewayToken,
            _ => throw new ArgumentOutOfRangeException(nameof(column), column, "Not a sealed column."),
        };
        return await ExecuteAsync($"update customers set {name} = @resealed where id = @id and {name} = @previous",
            cancellationToken, ("id", customerId), ("previous", previous), ("resealed", resealed)) == 1;
    }

    public async Task<long> StepStartedAsync(string customerId, string operationId, string step, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            """
            with touch as (update customers set provisioning_step = @step, updated_at = now() where id = @customer)
            insert into provisioning_steps (customer_id, operation_id, step, status, started_at)
            values (@customer, @operation, @step, 'running', clock_timestamp()) returning id
            """);
        Add(command, ("customer", customerId), ("operation", operationId), ("step", step));
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task<string?> FinishedStepOutputAsync(string operationId, string step, CancellationToken cancellationToken) =>
        Sql.ScalarAsync<string>(db, "select output from provisioning_steps where operation_id = @operation and step = @step and status = 'completed' and output is not null limit 1",
            cancellationToken, ("operation", operationId), ("step", step));

    public Task CompensateStepsAsync(string operationId, IReadOnlyList<string> steps, CancellationToken cancellationToken) =>
        ExecuteAsync("update provisioning_steps set status = 'compensated' where operation_id = @operation and step = any(@steps) and status = 'completed'",
            cancellationToken, ("operation", operationId), ("steps", steps.ToArray()));

    public Task StepFinishedAsync(long stepId, string status, string? error, CancellationToken cancellationToken, string? output = null) =>
        ExecuteAsync(
            """
            update provisioning_steps set status = @status, error = @error, output = @output, completed_at = clock_timestamp(),
                duration_ms = (extract(epoch from clock_timestamp() - started_at) * 1000)::int
            where id = @id
            """,
            cancellationToken, ("id", stepId), ("status", status), ("error", error), ("output", output));

    public async Task<IReadOnlyList<StepRecord>> GetStepsAsync(string customerId, string? operationId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand(
            """
            select step, status, started_at, completed_at, duration_ms, error from provisioning_steps
            where customer_id = @customer and (@operation::text is null or operation_id = @operation) order by id
            """);
        Add(command, ("customer", customerId), ("operation", operationId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var steps = new List<StepRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(new StepRecord(
                reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return steps;
    }

    public async Task<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken)
    {
        await using var command = db.CreateCommand("select 1 from stripe_events where id = @id");
        Add(command, ("id", eventId));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public Task RecordEventAsync(string eventId, string type, string? customerId, string outcome, CancellationToken cancellationToken) =>
        ExecuteAsync("insert into stripe_events (id, type, customer_id, outcome) values (@id, @type, @customer, @outcome) on conflict (id) do nothing",
            cancellationToken, ("id", eventId), ("type", type), ("customer", customerId), ("outcome", outcome));

    private Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        Sql.ExecuteAsync(db, sql, cancellationToken, parameters);

    private async Task<IReadOnlyList<Customer>> QueryAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        Add(command, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var customers = new List<Customer>();
        while (await reader.ReadAsync(cancellationToken))
        {
            customers.Add(Read(reader));
        }

        return customers;
    }

    private static void Add(NpgsqlCommand command, params (string Name, object? Value)[] parameters) => Sql.Add(command, parameters);

    private static Customer Read(NpgsqlDataReader r)
    {
        string? S(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        DateTimeOffset? T(int i) => r.IsDBNull(i) ? null : r.GetFieldValue<DateTimeOffset>(i);
        return new Customer
        {
            Id = r.GetString(0),
            Email = r.GetString(1),
            Name = S(2),
            AssistantName = S(3),
            Plan = r.GetString(4),
            StatusTokenHash = r.GetString(5),
            StripeCustomerId = S(6),
            StripeSubscriptionId = S(7),
            WorkspaceId = S(8),
            InstanceId = S(9),
            AccessUrl = S(10),
            ApiKeyHash = S(11),
            ApiKeyEncrypted = S(12),
            ApiKeyHint = S(13),
            ApiKeyRevealedAt = T(14),
            DatabaseBranchId = S(15),
            DatabaseUrlEncrypted = S(16),
            RailwayServiceId = S(17),
            Status = r.GetString(18),
            Step = S(19),
            FailureReason = S(20),
            OrchestrationId = S(21),
            ProvisioningStartedAt = T(22),
            ProvisionedAt = T(23),
            CreatedAt = r.GetFieldValue<DateTimeOffset>(24),
            BillingState = r.GetString(25),
            BillingStateAt = T(26),
            DesiredPlan = S(27),
            DesiredVersion = r.GetInt64(28),
            AppliedVersion = r.GetInt64(29),
            LifecycleInstance = S(30),
            LifecycleClaimedAt = T(31),
            LifecycleError = S(32),
            SuspendedAt = T(33),
            StripeCheckoutSessionId = S(34),
            GatewayTokenHash = S(35),
            GatewayTokenEncrypted = S(36),
            IsTest = r.GetBoolean(37),
            ImportedAt = T(38),
        };
    }
}
