using System.Globalization;
using System.Text.Json;
using SetupClaw.Migration;

namespace SetupClaw.Cli;

/// <summary>What <c>migrate-mock</c> was asked.</summary>
public sealed record MockMigrationOptions(
    string Mode, bool DryRun, bool Execute, bool Refund, int PerMinute, IReadOnlyDictionary<string, string> PriceMap, IReadOnlyList<string> Only, TimeSpan Timeout);

/// <summary>The end of a migration: every customer's decision, the counts, and where the report was written.</summary>
public sealed record MockMigrationReport(
    string Mode, bool DryRun, DateTimeOffset StartedAt, DateTimeOffset FinishedAt, int Done, int Planned, int Skipped, int Failed,
    IReadOnlyList<MockDecision> Customers)
{
    public string? ReportPath { get; set; }
}

/// <summary>
/// Runs a migration through the operator API: first the plan (a dry run of every customer), then, unless asked only
/// for the plan, the work. Provisioning goes one customer at a time at the rate asked, and waits for each to be active
/// (or failed) before the report calls it done.
/// </summary>
public sealed class MockMigrationRunner(OperatorApi api, Action<string> progress, TimeProvider? time = null)
{
    private const int Batch = 100;

    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>Told (steps, of) as provisionings start and then settle (each counts twice): what a progress bar shows.</summary>
    public Action<int, int>? OnProgress { get; set; }

    public async Task<(IReadOnlyList<MockDecision> Plan, Func<CancellationToken, Task<MockMigrationReport>> Run)> PlanAsync(
        IReadOnlyList<MockCustomerRow> source, MockMigrationOptions options, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var rows = options.Only.Count == 0
            ? source
            : source.Where(r => options.Only.Contains(r.Email!, StringComparer.OrdinalIgnoreCase)).ToList();
        if (options.Only.FirstOrDefault(e => !source.Any(r => string.Equals(r.Email, e, StringComparison.OrdinalIgnoreCase))) is { } unknown)
        {
            throw new UsageException($"--only {unknown}: no customer of the source has that email.");
        }

        var plan = await SendAsync(rows, options, dryRun: true, cancellationToken);
        return (plan, async token =>
        {
            var decisions = options.DryRun ? plan : await ExecuteAsync(rows, plan, options, token);
            return new MockMigrationReport(options.Mode, options.DryRun, started, DateTimeOffset.UtcNow,
                decisions.Count(d => d.Outcome == MockOutcomes.Done), decisions.Count(d => d.Outcome == MockOutcomes.Planned),
                decisions.Count(d => d.Outcome == MockOutcomes.Skipped), decisions.Count(d => d.Outcome == MockOutcomes.Failed), decisions);
        }
        );
    }

    private async Task<IReadOnlyList<MockDecision>> ExecuteAsync(
        IReadOnlyList<MockCustomerRow> rows, IReadOnlyList<MockDecision> plan, MockMigrationOptions options, CancellationToken cancellationToken)
    {
        if (options.Mode != MockMigrationModes.Provision)
        {
            // An executed clean slate writes to Stripe for each row: one row a request, so no request outlives its timeout.
            return await SendAsync(rows, options, dryRun: false, cancellationToken, options.Mode == MockMigrationModes.CleanSlate && options.Execute ? 1 : Batch);
        }

        // Provisioning: only the customers the plan provisions, one at a time, at most PerMinute a minute; the others
        // keep the plan's decision (skipped, with its reason).
        var decisions = plan.ToDictionary(d => d.SourceId, StringComparer.Ordinal);
        var chosen = rows.Where(r => decisions[r.SourceId!].Action == "provision").ToList();
        var interval = TimeSpan.FromMinutes(1) / options.PerMinute;
        var start = clock.GetTimestamp();
        for (var i = 0; i < chosen.Count; i++)
        {
            var due = interval * i;
            if (clock.GetElapsedTime(start) is var elapsed && elapsed < due)
            {
                await Task.Delay(due - elapsed, clock, cancellationToken);
            }

            var decision = (await SendAsync([chosen[i]], options, dryRun: false, cancellationToken)).Single();
            decisions[decision.SourceId] = decision;
            OnProgress?.Invoke(i + 1, chosen.Count * 2);
            progress($"[{i + 1}/{chosen.Count}] {decision.Email}: {decision.Outcome}, {decision.Reason}");
        }

        // Done means active: wait for each started provisioning to end.
        var waitStart = clock.GetTimestamp();
        var waiting = decisions.Values.Where(d => d is { Action: "provision", Outcome: MockOutcomes.Done, CustomerId: not null }).ToList();
        var finished = 0;
        while (waiting.Count > 0)
        {
            foreach (var decision in waiting.ToList())
            {
                var answer = await api.GetAsync($"api/operator/customers/{decision.CustomerId}", cancellationToken);
                var status = answer.Ok ? answer.Json.GetProperty("status").GetString() : null;
                if (status is "active" or "failed" || clock.GetElapsedTime(waitStart) > options.Timeout)
                {
                    waiting.Remove(decision);
                    finished++;
                    decisions[decision.SourceId] = status == "active"
                        ? decision with { Reason = decision.Reason.Split("; provisioning started")[0] + "; active, emailed the dashboard link" }
                        : decision with
                        {
                            Outcome = MockOutcomes.Failed,
                            Reason = status == "failed"
                                ? $"provisioning failed: {answer.Json.GetProperty("failureReason").GetString()} (customers show {decision.CustomerId}; customers retry {decision.CustomerId})"
                                : $"not active within {options.Timeout.TotalSeconds:0} s (status {status}); it goes on: customers show {decision.CustomerId}",
                        };
                    progress($"{finished} of {finished + waiting.Count} provisioned customers settled ({decision.Email}: {status})");
                    OnProgress?.Invoke(chosen.Count + finished, chosen.Count * 2);
                }
            }

            if (waiting.Count > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), clock, cancellationToken);
            }
        }

        return plan.Select(p => decisions[p.SourceId]).ToList();
    }

    private async Task<IReadOnlyList<MockDecision>> SendAsync(
        IReadOnlyList<MockCustomerRow> rows, MockMigrationOptions options, bool dryRun, CancellationToken cancellationToken, int batch = Batch)
    {
        var decisions = new List<MockDecision>();
        foreach (var chunk in rows.Chunk(batch))
        {
            var answer = await api.PostAsync("api/operator/mock-migration",
                new MockMigrationRequest(options.Mode, dryRun, options.Execute, options.Refund, options.PriceMap, chunk), cancellationToken);
            if (!answer.Ok)
            {
                throw new ApiException(answer);
            }

            decisions.AddRange(answer.Json.GetProperty("decisions").Deserialize<List<MockDecision>>(OperatorApi.Json)!);
        }

        return decisions;
    }

    /// <summary>Writes the report under <c>artifacts/</c> (of the repository when run inside one, else the current directory).</summary>
    public static string Write(MockMigrationReport report)
    {
        var root = new DirectoryInfo(Environment.CurrentDirectory);
        for (var directory = root; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SetupClaw.sln")))
            {
                root = directory;
                break;
            }
        }

        var folder = Directory.CreateDirectory(Path.Combine(root.FullName, "artifacts", "migrations")).FullName;
        var path = Path.Combine(folder, $"migrate-mock-{report.Mode}{(report.DryRun ? "-dry-run" : "")}-{report.StartedAt.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}-{Guid.NewGuid().ToString("N")[..6]}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions(OperatorApi.Json) { WriteIndented = true }));
        return path;
    }
}
