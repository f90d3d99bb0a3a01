using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Billing;
using SetupClaw.Customers;
using SetupClaw.Plans;
using SetupClaw.Telemetry;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Lifecycle;

/// <summary>
/// The operator's metrics, as an OpenTelemetry exporter would collect them from this host's meter: one measurement
/// per saga step with its outcome, provisionings by outcome, time to active, webhook events by outcome, and the
/// sweep's gauges. Only this stack's meter is listened to, so other tests' hosts in this process do not count.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class MetricsTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<(string Name, double Value, Dictionary<string, string?> Tags)> measurements = new();
    private readonly MeterListener listener = new();
    private SimulatedStack stack = null!;

    public async Task InitializeAsync()
    {
        stack = await SimulatedStack.StartAsync();
        var factory = stack.App.Services.GetRequiredService<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SetupClawMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument.Name, value, tags));
        listener.Start();
    }

    public async Task DisposeAsync()
    {
        listener.Dispose();
        await stack.DisposeAsync();
    }

    [Fact]
    public async Task AProvisioningThatSucceedsAndOneThatFails_AreMeasuredByStepOutcomeAndReason()
    {
        var good = await stack.SignupAsync("metrics-ok@example.com", Plan.Starter);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(good, "metrics-ok@example.com", DateTimeOffset.UtcNow.AddMinutes(-1)));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(CustomerStatus.Active, (await stack.CustomerAsync(good))!.Status);

        stack.Railway.DeploymentOutcome = _ => "CRASHED";
        var bad = await stack.SignupAsync("metrics-bad@example.com", Plan.Pro);
        await stack.SendAsync(StripeEventFactory.CheckoutCompleted(bad, "metrics-bad@example.com", DateTimeOffset.UtcNow.AddMinutes(-1)));
        await stack.SettledAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(CustomerStatus.Failed, (await stack.CustomerAsync(bad))!.Status);
        await stack.SweepAsync();

        var steps = Named("setupclaw.provisioning.step.duration");
        foreach (var step in SetupClaw.Provisioning.Steps.Provisioning)
        {
            Assert.Contains(steps, m => m.Tags["step"] == step && m.Tags["outcome"] == "completed");
        }

        Assert.All(steps, m => Assert.True(m.Value >= 0));
        var completed = Named("setupclaw.provisioning.completed");
        Assert.Equal(1, completed.Count(m => m.Tags["outcome"] == "active" && m.Tags["plan"] == Plan.Starter));
        // The lifecycle gives a failing provisioning its attempts; each one that ends failed is counted.
        Assert.Equal(SetupClaw.Lifecycle.CustomerLifecycleOrchestrator.MaxAttempts, completed.Count(m => m.Tags["outcome"] == "failed" && m.Tags["plan"] == Plan.Pro));
        // The first activation is at least the minute since the payment's (back-dated) event.
        Assert.True(Assert.Single(Named("setupclaw.provisioning.time_to_active")).Value >= 60);
        Assert.Equal(SetupClaw.Lifecycle.CustomerLifecycleOrchestrator.MaxAttempts,
            Named("setupclaw.provisioning.failures").Count(m => m.Tags["step"] == SetupClaw.Provisioning.Steps.Deploy && m.Tags["reason"] == "deployment_failed"));
        Assert.Equal(2, Named("setupclaw.webhook.events").Count(m => m.Tags["type"] == "checkout.session.completed"));
        Assert.DoesNotContain(measurements, m => m.Tags.Values.Any(v => v is not null && (v.Contains(good, StringComparison.Ordinal) || v.Contains(bad, StringComparison.Ordinal))));
        Assert.Equal(0, Named("setupclaw.orphans.open").Last().Value);
        Assert.Equal(0, Named("setupclaw.lifecycle.runs_in_flight").Last().Value);
    }

    private List<(string Name, double Value, Dictionary<string, string?> Tags)> Named(string name) => [.. measurements.Where(m => m.Name == name)];

    private void Record(string name, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }

        measurements.Enqueue((name, value, copy));
    }
}
