namespace SetupClaw.Customers;

/// <summary>The lifecycle states of <c>customers.provisioning_status</c>. Strings, so they read the same in SQL, JSON and logs.</summary>
public static class CustomerStatus
{
    public const string Pending = "pending";
    public const string Provisioning = "provisioning";
    public const string Active = "active";
    public const string Failed = "failed";
    public const string Deprovisioning = "deprovisioning";
    public const string Deprovisioned = "deprovisioned";
    public const string Suspended = "suspended";

    /// <summary>A mock-era customer imported with its subscription and nothing provisioned yet (<c>migrate-mock --grandfather</c>).</summary>
    public const string Grandfathered = "grandfathered";
}

/// <summary>A customer of the prototype, as <c>migrate-mock</c> imports it: never its mock key, workspace id or URL.</summary>
/// <param name="SourceId">The prototype's <c>customers.id</c>.</param>
/// <param name="Status">Where it starts: <see cref="CustomerStatus.Grandfathered"/>, or <see cref="CustomerStatus.Deprovisioned"/> for a customer cancelled by the clean slate (a record of it, and an address for its email).</param>
public sealed record ImportedCustomer(string Id, string Email, string Plan, string StripeCustomerId, string SourceId, string Status, string StatusTokenHash);

/// <param name="CheckoutSessionId">The Checkout Session signup created for this customer: the only one whose completion provisions it.</param>
public sealed record NewCustomer(
    string Id, string Email, string? Name, string? AssistantName, string Plan, string StatusTokenHash, string? CheckoutSessionId = null, bool IsTest = false);

public sealed record Customer
{
    public required string Id { get; init; }
    public required string Email { get; init; }
    public string? Name { get; init; }
    public string? AssistantName { get; init; }
    public required string Plan { get; init; }
    public required string StatusTokenHash { get; init; }
    public string? StripeCustomerId { get; init; }
    /// <summary>The bound subscription: set once, by the checkout of <see cref="StripeCheckoutSessionId"/> or by the operator.</summary>
    public string? StripeSubscriptionId { get; init; }

    /// <summary>The Checkout Session SetupClaw created at signup (never written from an event).</summary>
    public string? StripeCheckoutSessionId { get; init; }
    public string? WorkspaceId { get; init; }
    public string? InstanceId { get; init; }
    public string? AccessUrl { get; init; }
    public string? ApiKeyHash { get; init; }
    public string? ApiKeyEncrypted { get; init; }
    public string? ApiKeyHint { get; init; }
    public DateTimeOffset? ApiKeyRevealedAt { get; init; }
    public string? DatabaseBranchId { get; init; }
    public string? DatabaseUrlEncrypted { get; init; }
    public string? RailwayServiceId { get; init; }
    public required string Status { get; init; }
    public string? Step { get; init; }
    public string? FailureReason { get; init; }
    public string? OrchestrationId { get; init; }
    public DateTimeOffset? ProvisioningStartedAt { get; init; }
    public DateTimeOffset? ProvisionedAt { get; init; }
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>What Stripe says: <see cref="Lifecycle.BillingStates"/>.</summary>
    public string BillingState { get; init; } = Lifecycle.BillingStates.AwaitingPayment;

    public DateTimeOffset? BillingStateAt { get; init; }

    /// <summary>The plan Stripe's subscription names, when it differs from the one applied (<see cref="Plan"/>).</summary>
    public string? DesiredPlan { get; init; }

    public long DesiredVersion { get; init; }

    public long AppliedVersion { get; init; }

    /// <summary>The lifecycle run that holds this customer (one at a time), or null.</summary>
    public string? LifecycleInstance { get; init; }

    public DateTimeOffset? LifecycleClaimedAt { get; init; }

    /// <summary>Why the last lifecycle run gave up (for the operator), or null.</summary>
    public string? LifecycleError { get; init; }

    public DateTimeOffset? SuspendedAt { get; init; }

    /// <summary>The hash of the runtime's model-gateway token; null once revoked.</summary>
    public string? GatewayTokenHash { get; init; }

    /// <summary>The token sealed for the service variables (the runtime presents it to the gateway).</summary>
    public string? GatewayTokenEncrypted { get; init; }

    /// <summary>A smoke test's throwaway customer: no payment, never billed, removed by the test.</summary>
    public bool IsTest { get; init; }

    /// <summary>When the customer was imported from the mock era's database; null for SetupClaw's own customers.</summary>
    public DateTimeOffset? ImportedAt { get; init; }
}

/// <summary>One page of the operator's customer list, newest first.</summary>
/// <param name="Next">The cursor for the next page (<c>after</c>), or null on the last.</param>
public sealed record CustomerPage(IReadOnlyList<Customer> Customers, string? Next);

public sealed record StepRecord(string Name, string Status, DateTimeOffset StartedAt, DateTimeOffset? CompletedAt, int? DurationMs, string? Error);

/// <summary>The control database's view of customers, steps and webhook events.</summary>
public interface ICustomerStore
{
    Task CreateAsync(NewCustomer customer, CancellationToken cancellationToken);

    Task<Customer?> GetAsync(string customerId, CancellationToken cancellationToken);

    Task<Customer?> FindBySubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Customer>> ListByStatusAsync(string status, CancellationToken cancellationToken);

    /// <summary>Every customer, newest first, <paramref name="limit"/> at a time after the cursor <paramref name="after"/> (a customer id), optionally of one status and plan.</summary>
    Task<CustomerPage> ListAsync(string? status, string? plan, string? after, int limit, CancellationToken cancellationToken);

    /// <summary>The customer imported for this Stripe customer, or null.</summary>
    Task<Customer?> FindImportedAsync(string stripeCustomerId, CancellationToken cancellationToken);

    /// <summary>Inserts the imported customer unless one was imported for its Stripe customer already; returns the one in force and whether it is new.</summary>
    Task<(Customer Customer, bool Created)> ImportAsync(ImportedCustomer customer, CancellationToken cancellationToken);

    /// <summary>grandfathered → pending, with a new desired version, while Stripe says active: the lifecycle then provisions it. False otherwise.</summary>
    Task<bool> ReleaseGrandfatheredAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>The paid (not pending), non-test customers with this email, newest first: whom a sign-in link may open.</summary>
    Task<IReadOnlyList<Customer>> ListByEmailAsync(string email, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces an active customer's API key and gateway token (hashes and the sealed token; no copy of the key is kept),
    /// then runs <paramref name="apply"/> with the updated customer before committing: the change is kept only if the
    /// runtime took it. False, with nothing changed, when the customer is not active or a lifecycle run holds it.
    /// </summary>
    Task<bool> RotateCredentialsAsync(
        string customerId, string apiKeyHash, string apiKeyHint, string gatewayTokenHash, string gatewayTokenEncrypted,
        Func<Customer, CancellationToken, Task> apply, CancellationToken cancellationToken);

    /// <summary>
    /// Moves pending, failed (a retry) or an interrupted provisioning → provisioning under <paramref name="orchestrationId"/>,
    /// with the plan Stripe names. The lifecycle run that calls it holds the customer, so there is one caller.
    /// </summary>
    Task<bool> BeginProvisioningAsync(string customerId, string orchestrationId, CancellationToken cancellationToken);

    /// <summary>Stores credentials unless some are already reserved; returns the workspace id in force.</summary>
    Task<string> ReserveCredentialsAsync(string customerId, string workspaceId, string apiKeyHash, string apiKeyEncrypted, string apiKeyHint, CancellationToken cancellationToken);

    /// <summary>Stores a gateway token unless one is reserved already (a retry keeps the first).</summary>
    Task ReserveGatewayTokenAsync(string customerId, string tokenHash, string tokenEncrypted, CancellationToken cancellationToken);

    /// <summary>The customer whose runtime holds this gateway token, or null (unknown or revoked).</summary>
    Task<Customer?> FindByGatewayTokenAsync(string tokenHash, CancellationToken cancellationToken);

    Task RecordDatabaseAsync(string customerId, string? branchId, string? databaseUrlEncrypted, CancellationToken cancellationToken);

    Task RecordServiceAsync(string customerId, string? serviceId, string? accessUrl, CancellationToken cancellationToken);

    Task ActivateAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>Marks the customer failed and revokes the key reserved for it.</summary>
    Task MarkFailedAsync(string customerId, string reason, CancellationToken cancellationToken, string? step = null);

    /// <summary>active → suspended (the payment failed for good); nothing else moves.</summary>
    Task SuspendAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>suspended → active (paid again); nothing else moves.</summary>
    Task ResumeAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>Moves any live state to deprovisioning; false when the customer is already deprovisioned or unknown.</summary>
    Task<bool> BeginDeprovisioningAsync(string customerId, CancellationToken cancellationToken);

    Task CompleteDeprovisioningAsync(string customerId, CancellationToken cancellationToken);

    Task MarkApiKeyRevealedAsync(string customerId, CancellationToken cancellationToken);

    Task EraseApiKeyCopyAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>Erases every revealable key copy first shown longer ago than <paramref name="window"/> (the sweep). Returns how many.</summary>
    Task<int> EraseExpiredApiKeyCopiesAsync(TimeSpan window, CancellationToken cancellationToken);

    /// <summary>Every sealed value (customer, column, sealed text): what a key rotation re-seals.</summary>
    Task<IReadOnlyList<(string CustomerId, string Column, string Sealed)>> ListSealedAsync(CancellationToken cancellationToken);

    /// <summary>Replaces one sealed value if it is still <paramref name="previous"/>. False when it changed meanwhile.</summary>
    Task<bool> ReplaceSealedAsync(string customerId, string column, string previous, string resealed, CancellationToken cancellationToken);

    Task<long> StepStartedAsync(string customerId, string operationId, string step, CancellationToken cancellationToken);

    Task StepFinishedAsync(long stepId, string status, string? error, CancellationToken cancellationToken, string? output = null);

    /// <summary>The recorded output of <paramref name="step"/> if <paramref name="operationId"/> already finished it, else null.</summary>
    Task<string?> FinishedStepOutputAsync(string operationId, string step, CancellationToken cancellationToken);

    /// <summary>Marks an operation's completed <paramref name="steps"/> compensated: undone, so a step run once per operation runs again.</summary>
    Task CompensateStepsAsync(string operationId, IReadOnlyList<string> steps, CancellationToken cancellationToken);

    Task<IReadOnlyList<StepRecord>> GetStepsAsync(string customerId, string? operationId, CancellationToken cancellationToken);

    Task<bool> IsEventProcessedAsync(string eventId, CancellationToken cancellationToken);

    Task RecordEventAsync(string eventId, string type, string? customerId, string outcome, CancellationToken cancellationToken);
}
