using System.Globalization;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// What a runtime reads from its own database on every request (the runtime's <c>runtime_identity</c> row): who it
/// belongs to, the API key's hash, its gateway token and what the plan allows. Written by the control plane at
/// provisioning and whenever one of them changes, so a rotated key is refused at once and neither a plan change nor
/// handing a pre-started runtime to a customer needs a redeploy. <see cref="ToString"/> hides the token.
/// </summary>
public sealed record AssistantIdentity(
    string CustomerId,
    string WorkspaceId,
    string ApiKeyHash,
    string? GatewayToken,
    string PlanName,
    int MessageLimit,
    long MonthlyTokens,
    string MaxAgents,
    IReadOnlyList<string> Features,
    IReadOnlyList<string> Skills)
{
    public static AssistantIdentity For(Customer customer, Plan plan, long monthlyTokens, string? gatewayToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(plan);
        if (customer is not { WorkspaceId: not null, ApiKeyHash: not null })
        {
            throw new PermanentProvisioningException($"Customer {customer.Id} has no workspace or API key yet: the assistant has no identity to be given.");
        }

        return new AssistantIdentity(customer.Id, customer.WorkspaceId, customer.ApiKeyHash, gatewayToken, plan.Name, plan.MessagesPerMonth,
            monthlyTokens, plan.MaxAgents?.ToString(CultureInfo.InvariantCulture) ?? "unlimited", plan.Features, plan.Skills);
    }

    public override string ToString() =>
        $"AssistantIdentity {{ CustomerId = {CustomerId}, WorkspaceId = {WorkspaceId}, PlanName = {PlanName}, GatewayToken = {(GatewayToken is null ? "(none)" : "(set)")} }}";
}

/// <summary>Writes a customer's <see cref="AssistantIdentity"/> on <paramref name="plan"/> into the customer's database.</summary>
public sealed class AssistantIdentityWriter(ICustomerData data, SecretBox secretBox, PlanCatalog plans)
{
    public async Task<AssistantIdentity> WriteAsync(Customer customer, Plan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        if (customer.DatabaseUrlEncrypted is null)
        {
            throw new PermanentProvisioningException($"Customer {customer.Id} has no database to write the assistant's identity to.");
        }

        var token = customer.GatewayTokenEncrypted is { } sealedToken ? secretBox.Open(sealedToken, customer.Id, SealedColumns.GatewayToken) : null;
        var identity = AssistantIdentity.For(customer, plan, plans.TokenBudgetOf(plan), token);
        await data.WriteIdentityAsync(secretBox.Open(customer.DatabaseUrlEncrypted, customer.Id, SealedColumns.DatabaseUrl), identity, cancellationToken);
        return identity;
    }
}
