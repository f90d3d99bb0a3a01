using System.Text.Json;
using Microsoft.DurableTask;
using SetupClaw.Customers;

namespace SetupClaw.Provisioning;

/// <summary>
/// An activity that is one step of a customer's saga: it writes a row of step history (start, end, duration,
/// error) around its work, so the success page and the benchmark see what each step cost inside its provider, and
/// records the step's duration and any failure as metrics.
/// </summary>
public abstract class StepActivity<TOutput>(ICustomerStore store, Telemetry.SetupClawMetrics metrics) : TaskActivity<string, TOutput>
{
    protected abstract string Step { get; }

    protected ICustomerStore Store => store;

    protected Telemetry.SetupClawMetrics Metrics => metrics;

    /// <summary>
    /// A step its orchestration schedules once (not deploy or health check, which a saga repeats on purpose): when
    /// the same operation already finished it, the recorded output is returned and the work is not done again.
    /// Durable activities run at least once; this makes a finished step's effect happen once.
    /// </summary>
    protected virtual bool OncePerOperation => false;

    public sealed override async Task<TOutput> RunAsync(TaskActivityContext context, string customerId)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (OncePerOperation && await store.FinishedStepOutputAsync(context.InstanceId, Step, CancellationToken.None) is { } recorded)
        {
            return JsonSerializer.Deserialize<TOutput>(recorded)!;
        }

        var stepId = await store.StepStartedAsync(customerId, context.InstanceId, Step, CancellationToken.None);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            var output = await ExecuteAsync(customerId, CancellationToken.None);
            await store.StepFinishedAsync(stepId, "completed", null, CancellationToken.None, OncePerOperation ? JsonSerializer.Serialize(output) : null);
            metrics.StepFinished(Step, succeeded: true, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            return output;
        }
        catch (Exception e)
        {
            await store.StepFinishedAsync(stepId, "failed", e.Message, CancellationToken.None);
            metrics.StepFinished(Step, succeeded: false, System.Diagnostics.Stopwatch.GetElapsedTime(started), e);
            throw;
        }
    }

    protected abstract Task<TOutput> ExecuteAsync(string customerId, CancellationToken cancellationToken);

    protected Task<Customer> GetCustomerAsync(string customerId, CancellationToken cancellationToken) =>
        store.GetRequiredAsync(customerId, cancellationToken);
}

/// <summary>The names of the saga's steps, as shown in custom status, step history and the status endpoint.</summary>
public static class Steps
{
    public const string ReserveCredentials = "reserve_credentials";
    public const string ClaimInstance = "claim_instance";
    public const string Resize = "resize";
    public const string CreateDatabase = "create_database";
    public const string SeedWorkspace = "seed_workspace";
    public const string CreateService = "create_service";
    public const string Deploy = "deploy";
    public const string HealthCheck = "health_check";
    public const string Activate = "activate";
    public const string DeleteService = "delete_service";
    public const string DeleteDatabase = "delete_database";
    public const string Archive = "archive";
    public const string RevokeCredentials = "revoke_credentials";

    public static readonly IReadOnlyList<string> Provisioning =
        [ReserveCredentials, CreateDatabase, SeedWorkspace, CreateService, Deploy, HealthCheck, Activate];

    /// <summary>A provisioning that claimed a warm pool member: its database, service and deployment were ready.</summary>
    public static readonly IReadOnlyList<string> Warm = [ReserveCredentials, ClaimInstance, SeedWorkspace, HealthCheck, Activate];
}
