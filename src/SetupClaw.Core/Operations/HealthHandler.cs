using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Npgsql;

namespace SetupClaw.Operations;

/// <summary><c>GET /healthz</c>: 200 when the control database and the durable backend both answer, else 503 naming which does not.</summary>
public sealed class HealthHandler(NpgsqlDataSource db)
{
    public async Task<IResult> HandleAsync(DurableTaskClient durable, CancellationToken cancellationToken)
    {
        var database = await DatabaseAnswersAsync(cancellationToken);
        var durableUp = await IsReachableAsync(durable, cancellationToken);
        return database && durableUp
            ? Results.Ok(new { status = "ok" })
            : Results.Json(
                new
                {
                    status = "starting",
                    database = database ? "ok" : "the control database does not answer",
                    durable = durableUp ? "ok" : "the durable backend is not reachable yet",
                },
                statusCode: 503);
    }

    /// <summary>
    /// Whether the durable client reaches its backend now. Right after the local host starts it may not: the worker
    /// dials the sidecar before Kestrel listens, and the shared channel stays in reconnect backoff for a moment.
    /// </summary>
    public static async Task<bool> IsReachableAsync(DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durable);
        try
        {
            await durable.GetInstanceAsync("reachability-probe", cancellationToken);
            return true;
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // gRPC's Unavailable locally; whatever the Functions host's client throws while it starts
        }
    }

    private async Task<bool> DatabaseAnswersAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var command = db.CreateCommand("select 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }
}
