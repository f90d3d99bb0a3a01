using OpenTelemetry.Metrics;
using SetupClaw.Telemetry;

namespace SetupClaw.LocalHost;

/// <summary>
/// The SetupClaw meter locally: <c>LocalHost:Telemetry</c> = <c>console</c> prints the metrics every
/// <c>LocalHost:TelemetryIntervalSeconds</c> (60), <c>otlp</c> sends them to the OTLP endpoint the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> names (a collector, Aspire's dashboard); unset, nothing is exported.
/// </summary>
internal static class LocalTelemetry
{
    public static void AddLocalTelemetry(this WebApplicationBuilder builder)
    {
        var exporter = builder.Configuration["LocalHost:Telemetry"]?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(exporter) || exporter == "none")
        {
            return;
        }

        var interval = int.TryParse(builder.Configuration["LocalHost:TelemetryIntervalSeconds"], out var seconds) && seconds > 0 ? seconds : 60;
        builder.Services.AddOpenTelemetry().WithMetrics(metrics =>
        {
            metrics.AddMeter(SetupClawMetrics.MeterName);
            switch (exporter)
            {
                case "console":
                    metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000);
                    break;
                case "otlp":
                    metrics.AddOtlpExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval * 1000);
                    break;
                default:
                    throw new InvalidOperationException($"LocalHost:Telemetry is '{exporter}': use console, otlp or none.");
            }
        });
    }
}
