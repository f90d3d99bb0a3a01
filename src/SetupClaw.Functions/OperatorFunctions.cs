using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Operations;

namespace SetupClaw.Functions;

/// <summary>The orphan sweep on a timer (<c>Sweep:Schedule</c>, every 5 minutes by default) and the operator's orphan routes.</summary>
public sealed class OperatorFunctions(OrphanSweeper sweeper, OperatorHandler operatorRoutes, IOptions<SweepOptions> options, TimeProvider clock)
{
    [Function("OrphanSweep")]
    public Task SweepAsync(
        [TimerTrigger("%Sweep:Schedule%", RunOnStartup = false)] TimerInfo timer,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        sweeper.SweepAsync(durable, options.Value.ClaimedBefore(clock.GetUtcNow()), cancellationToken);

    [Function("OperatorOrphans")]
    public Task<IActionResult> ListAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "operator/orphans")] HttpRequest request, CancellationToken cancellationToken) =>
        HttpFunctions.ExecuteAsync(request, operatorRoutes.ListAsync(request, cancellationToken));

    [Function("OperatorRetry")]
    public Task<IActionResult> RetryAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "operator/customers/{customerId}/retry")] HttpRequest request,
        string customerId,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        HttpFunctions.ExecuteAsync(request, operatorRoutes.RetryAsync(request, customerId, durable, cancellationToken));

    [Function("OperatorSweep")]
    public Task<IActionResult> SweepNowAsync(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "operator/sweep")] HttpRequest request,
        [DurableClient] DurableTaskClient durable,
        CancellationToken cancellationToken) =>
        HttpFunctions.ExecuteAsync(request, operatorRoutes.SweepAsync(request, durable, cancellationToken));
}
