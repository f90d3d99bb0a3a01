using System.Diagnostics.Metrics;

namespace SetupClaw.Telemetry;

/// <summary>
/// What the operator watches, as OpenTelemetry metrics of the meter <c>SetupClaw</c> (exported to Azure Monitor in
/// production, to the console or OTLP locally): provisioning time by step, failures by step and reason, time from
/// payment to active, provisionings by outcome, webhook events by outcome, orphans open and lifecycle runs in flight.
/// Tags are low-cardinality: never a customer id.
/// </summary>
public sealed class SetupClawMetrics
{
    public const string MeterName = "SetupClaw";

    private readonly Histogram<double> stepDuration;
    private readonly Counter<long> stepFailures;
    private readonly Counter<long> provisionings;
    private readonly Counter<long> failures;
    private readonly Histogram<double> timeToActive;
    private readonly Counter<long> webhookEvents;
    private readonly Gauge<long> orphansOpen;
    private readonly Gauge<long> runsInFlight;

    public SetupClawMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(MeterName);
        stepDuration = meter.CreateHistogram<double>("setupclaw.provisioning.step.duration", "s", "Time one saga step took, by step and outcome.");
        stepFailures = meter.CreateCounter<long>("setupclaw.provisioning.step.failures", null, "Failed attempts of a saga step (retried ones included), by step and reason.");
        failures = meter.CreateCounter<long>("setupclaw.provisioning.failures", null, "Provisionings that failed, by the step they failed at and the kind of failure.");
        provisionings = meter.CreateCounter<long>("setupclaw.provisioning.completed", null,
            "Provisioning attempts that ended, by outcome (active, failed, cancelled) and plan; the lifecycle retries a failed one up to 3 times.");
        timeToActive = meter.CreateHistogram<double>("setupclaw.provisioning.time_to_active", "s", "From the payment's fact to the assistant being active.");
        webhookEvents = meter.CreateCounter<long>("setupclaw.webhook.events", null, "Stripe events received, by type and outcome.");
        orphansOpen = meter.CreateGauge<long>("setupclaw.orphans.open", null, "Provider resources no live customer owns, still open (as of the last sweep).");
        runsInFlight = meter.CreateGauge<long>("setupclaw.lifecycle.runs_in_flight", null, "Customers a lifecycle run holds (as of the last sweep).");
    }

    public void StepFinished(string step, bool succeeded, TimeSpan duration, Exception? failure = null)
    {
        var outcome = succeeded ? "completed" : "failed";
        stepDuration.Record(duration.TotalSeconds, new("step", step), new("outcome", outcome));
        if (failure is not null)
        {
            stepFailures.Add(1, new("step", step), new("reason", ReasonOf(failure)));
        }
    }

    public void ProvisioningEnded(string outcome, string plan, TimeSpan? sincePayment = null)
    {
        provisionings.Add(1, new("outcome", outcome), new("plan", plan));
        if (sincePayment is { } elapsed)
        {
            timeToActive.Record(Math.Max(0, elapsed.TotalSeconds), new KeyValuePair<string, object?>("plan", plan));
        }
    }

    /// <summary>A provisioning attempt that ended without an assistant: <c>cancelled</c> when the subscription ended, else <c>failed</c>.</summary>
    public void ProvisioningFailed(string plan, string step, string kind)
    {
        ProvisioningEnded(kind == "cancelled" ? "cancelled" : "failed", plan);
        failures.Add(1, new("step", step), new("reason", kind));
    }

    public void WebhookEvent(string type, string outcome) =>
        webhookEvents.Add(1, new("type", type), new("outcome", OutcomeKind(outcome)));

    public void Swept(long openOrphans, long lifecycleRunsInFlight)
    {
        orphansOpen.Record(openOrphans);
        runsInFlight.Record(lifecycleRunsInFlight);
    }

    /// <summary>A failure's kind, never its message: what no retry fixes, a provider's refusal, or anything else.</summary>
    public static string ReasonOf(Exception failure) => failure switch
    {
        Providers.PermanentProvisioningException => "permanent",
        HttpRequestException => "provider_unreachable",
        TimeoutException or TaskCanceledException => "timeout",
        _ => "error",
    };

    /// <summary>An event outcome's first word (<c>active->suspended (run started)</c> is <c>active->suspended</c>).</summary>
    public static string OutcomeKind(string outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var end = outcome.IndexOfAny([' ', ':']);
        return end < 0 ? outcome : outcome[..end];
    }
}
