using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;
using SetupClaw.Http;
using SetupClaw.Lifecycle;

namespace SetupClaw.Operations;

/// <summary>
/// The operator's routes (<c>X-Admin-Key</c>): <c>GET /api/operator/orphans</c> lists the open orphans and the last
/// sweeps; <c>POST /api/operator/sweep</c> sweeps now and answers with what it did;
/// <c>POST /api/operator/customers/{id}/retry</c> runs a customer's lifecycle again after its cause was fixed.
/// </summary>
public sealed class OperatorHandler(
    OrphanStore orphans, OrphanSweeper sweeper, LifecycleStore lifecycleStore, LifecycleScheduler lifecycle,
    IOptions<SecurityOptions> security, IOptions<SweepOptions> sweep, TimeProvider clock)
{
    public async Task<IResult> ListAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (OrchestrationStatusHandler.Refuse(request, security.Value) is { } refused)
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
        if (OrchestrationStatusHandler.Refuse(request, security.Value) is { } refused)
        {
            return refused;
        }

        return Results.Ok(await sweeper.SweepAsync(durable, sweep.Value.ClaimedBefore(clock.GetUtcNow()), cancellationToken));
    }

    public async Task<IResult> RetryAsync(HttpRequest request, string customerId, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        if (OrchestrationStatusHandler.Refuse(request, security.Value) is { } refused)
        {
            return refused;
        }

        if (!Providers.CustomerIds.IsValid(customerId) || !await lifecycleStore.RequestRetryAsync(customerId, cancellationToken))
        {
            return Problems.NotFound($"There is no customer '{(customerId.Length > 40 ? customerId[..40] + "…" : customerId)}'.");
        }

        var run = await lifecycle.KickAsync(durable, customerId, cancellationToken);
        return Results.Accepted(value: new { customerId, run, note = run is null ? "a lifecycle run holds the customer; it will look again before letting go" : "lifecycle run started" });
    }
}
