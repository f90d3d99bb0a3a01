using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using SetupClaw.Http;

namespace SetupClaw.Migration;

/// <summary>
/// <c>POST /api/operator/mock-migration</c> (<c>X-Admin-Key</c>): one batch of the prototype's customers and a mode;
/// answers each one's decision (action, outcome, reason). With <c>dryRun</c> nothing changes anywhere. The command
/// line (<c>./setupclaw migrate-mock</c>) reads the prototype's database and sends it here in batches, at the rate asked.
/// </summary>
public sealed class MockMigrationHandler(MockMigration migration, RequestLimits limits)
{
    private const int MaxBody = 256 * 1024;

    public async Task<IResult> RunAsync(HttpRequest request, DurableTaskClient durable, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (limits.RefuseAdmin(request) is { } refused)
        {
            return refused;
        }

        var (body, problem) = await RequestBodies.ReadJsonAsync<MockMigrationRequest>(request, MaxBody, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (MockMigration.Invalid(body!) is { } invalid)
        {
            return Problems.BadRequest("Invalid migration batch", invalid);
        }

        var decisions = await migration.RunAsync(durable, body!, cancellationToken);
        return Results.Ok(new { mode = body!.Mode, dryRun = body.DryRun, decisions });
    }
}
