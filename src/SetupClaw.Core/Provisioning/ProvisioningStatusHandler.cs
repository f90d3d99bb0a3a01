using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Http;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>A saga step as the success page shows it: its state, its plain-words label and how long it took.</summary>
public sealed record StepView(string Name, string Status, DateTimeOffset? StartedAt, DateTimeOffset? CompletedAt)
{
    public string Label => CustomerFacing.StepLabel(Name);

    public double? DurationSeconds => StartedAt is { } started && CompletedAt is { } completed ? Math.Round((completed - started).TotalSeconds, 1) : null;
}

public sealed record ProvisioningStatusView(
    string CustomerId, string Status, string? Step, IReadOnlyList<StepView> Steps, double? ElapsedSeconds,
    string? WorkspaceId, string? InstanceId, string? AccessUrl, string? ApiKey, string? ApiKeyHint, string? Error, string? Notice = null);

/// <summary>
/// <c>GET /api/provisioning/{customerId}</c> with <c>Authorization: Bearer {statusToken}</c>: what the success page
/// polls. Reads only the control database. The API key is shown until a short while after it was first shown;
/// then the sealed copy is erased and only its hint remains.
/// </summary>
public sealed class ProvisioningStatusHandler(
    ICustomerStore store, SecretBox secretBox, IOptions<SecurityOptions> security, IOptions<ProvisioningOptions> provisioning, TimeProvider clock)
{
    /// <summary>Every answer, refusals included, is <c>no-store</c>: it may carry the API key, and never belongs in a cache.</summary>
    public async Task<IResult> HandleAsync(HttpRequest request, string customerId, CancellationToken cancellationToken) =>
        Answers.NoStore(await AnswerAsync(request, customerId, cancellationToken));

    private async Task<IResult> AnswerAsync(HttpRequest request, string customerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = RequestBodies.BearerToken(request);
        if (token is null)
        {
            return Problems.Unauthorized("Send the statusToken from the signup response as 'Authorization: Bearer <statusToken>'.");
        }

        var customer = CustomerIds.IsValid(customerId) ? await store.GetAsync(customerId, cancellationToken) : null;
        if (customer is null || !Secrets.MatchesHash(token, customer.StatusTokenHash))
        {
            return Problems.Forbidden("This status token does not belong to that customer.");
        }

        var history = customer.OrchestrationId is null ? [] : await store.GetStepsAsync(customer.Id, customer.OrchestrationId, cancellationToken);
        return Results.Ok(new ProvisioningStatusView(
            customer.Id, customer.Status, customer.Step, Merge(history, customer.Status), Elapsed(customer),
            customer.WorkspaceId, customer.InstanceId, customer.AccessUrl,
            await RevealKeyAsync(customer, cancellationToken), customer.ApiKeyHint, CustomerError(customer, history),
            provisioning.Value.Paused && customer.Status == CustomerStatus.Pending ? ProvisioningOptions.PausedNotice : null));
    }

    /// <summary>Every saga step (the warm path's when a pool member was claimed), in order, with the latest attempt's state; undo steps follow when there were any.</summary>
    private static List<StepView> Merge(IReadOnlyList<StepRecord> history, string status)
    {
        var latest = history.GroupBy(s => s.Name).ToDictionary(g => g.Key, g => g.Last());
        var plan = latest.TryGetValue(Steps.ClaimInstance, out var claim) && claim.Status == "completed" ? Steps.Warm : Steps.Provisioning;
        var steps = plan
            .Select(name => latest.TryGetValue(name, out var s)
                ? new StepView(name, s.Status, s.StartedAt, s.CompletedAt)
                : new StepView(name, status == CustomerStatus.Failed ? "skipped" : "pending", null, null))
            .ToList();
        steps.AddRange(latest.Values.Where(s => !plan.Contains(s.Name)).Select(s => new StepView(s.Name, s.Status, s.StartedAt, s.CompletedAt)));
        return DeploymentUntilItFinished(steps, latest, status);
    }

    /// <summary>
    /// The deploy step's record closes when the deployment is started; the build and the wait for it follow before the
    /// health check. A customer sees "starting your assistant" running until then, and its duration to the health check.
    /// </summary>
    private static List<StepView> DeploymentUntilItFinished(List<StepView> steps, Dictionary<string, StepRecord> latest, string status)
    {
        var index = steps.FindIndex(s => s is { Name: Steps.Deploy, Status: "completed" });
        if (index < 0)
        {
            return steps;
        }

        if (latest.TryGetValue(Steps.HealthCheck, out var health))
        {
            steps[index] = steps[index] with { CompletedAt = health.StartedAt };
        }
        else if (status == CustomerStatus.Provisioning)
        {
            steps[index] = steps[index] with { Status = "running", CompletedAt = null };
        }

        return steps;
    }

    /// <summary>A failure as the customer may read it: the step, what happens next, a reference; never the provider's detail.</summary>
    private static string? CustomerError(Customer customer, IReadOnlyList<StepRecord> history) =>
        customer.Status == CustomerStatus.Failed
            ? CustomerFacing.SetupFailed(customer.Step ?? history.LastOrDefault(s => s.Status == "failed")?.Name, CustomerFacing.Reference(customer.Id, customer.OrchestrationId))
            : null;

    private double? Elapsed(Customer customer) => customer.ProvisioningStartedAt is { } started
        ? Math.Round(((customer.ProvisionedAt ?? clock.GetUtcNow()) - started).TotalSeconds, 1)
        : null;

    private async Task<string?> RevealKeyAsync(Customer customer, CancellationToken cancellationToken)
    {
        if (customer is not { Status: CustomerStatus.Active, ApiKeyEncrypted: { } sealedKey })
        {
            return null;
        }

        if (customer.ApiKeyRevealedAt is { } revealedAt && clock.GetUtcNow() - revealedAt > security.Value.ApiKeyRevealWindow)
        {
            await store.EraseApiKeyCopyAsync(customer.Id, cancellationToken);
            return null;
        }

        if (customer.ApiKeyRevealedAt is null)
        {
            await store.MarkApiKeyRevealedAsync(customer.Id, cancellationToken);
        }

        return secretBox.Open(sealedKey, customer.Id, SealedColumns.ApiKey);
    }
}
