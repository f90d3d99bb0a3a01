using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using SetupClaw.Credentials;

namespace SetupClaw.Operations;

/// <summary>
/// The operator's view of what was left behind (<c>X-Admin-Key</c>): <c>GET /api/operator/orphans</c> lists the
/// open orphans and the last sweeps; <c>POST /api/operator/sweep</c> sweeps now and answers with what it did.
/// </summary>
public sealed class OrphansHandler(OrphanStore orphans, OrphanSweeper sweeper, IOptions<SecurityOptions> security, IOptions<SweepOptions> sweep)
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

        return Results.Ok(await sweeper.SweepAsync(durable, TimeSpan.FromSeconds(sweep.Value.GraceSeconds), cancellationToken));
    }
}
