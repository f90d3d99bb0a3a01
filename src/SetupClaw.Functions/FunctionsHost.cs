using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace SetupClaw.Functions;

/// <summary>The Functions app's composition, shared by Program and the metadata test.</summary>
public static class FunctionsHost
{
    public static FunctionsApplicationBuilder Create(string[] args)
    {
        var builder = FunctionsApplication.CreateBuilder(args);
        ProductionSettings.Require(builder.Configuration, reachable: true);
        builder.ConfigureFunctionsWebApplication();
        builder.Services.AddSetupClawCore(builder.Configuration);
        builder.ConfigureDurableWorker().AddTasks(registry => registry.AddSetupClawTasks());
        AddTelemetry(builder);
        return builder;
    }

    /// <summary>
    /// The SetupClaw meter to Application Insights (Azure Monitor exporter), authenticated with the app's managed
    /// identity (the resource has local authentication off): <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> names the
    /// resource and <c>AZURE_CLIENT_ID</c> the user-assigned identity, both set by the Bicep. Neither set: no export.
    /// </summary>
    private static void AddTelemetry(FunctionsApplicationBuilder builder)
    {
        var connectionString = Environment.GetEnvironmentVariable("APPLICATIONINSIGHTS_CONNECTION_STRING");
        if (string.IsNullOrEmpty(connectionString))
        {
            return;
        }

        var credential = new Azure.Identity.DefaultAzureCredential(new Azure.Identity.DefaultAzureCredentialOptions
        {
            ManagedIdentityClientId = Environment.GetEnvironmentVariable("AZURE_CLIENT_ID"),
        });
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(Telemetry.SetupClawMetrics.MeterName)
            .AddAzureMonitorMetricExporter(exporter =>
            {
                exporter.ConnectionString = connectionString;
                exporter.Credential = credential;
            }));
    }
}
