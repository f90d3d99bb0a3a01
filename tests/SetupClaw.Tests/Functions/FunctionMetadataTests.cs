using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.Core.FunctionMetadata;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Functions;
using SetupClaw.Http;
using SetupClaw.LocalHost;

namespace SetupClaw.Tests.Functions;

/// <summary>
/// The Functions host cannot run here, so this asserts what the worker would tell it: the HTTP functions with their
/// routes and methods, and every orchestrator and activity with its trigger type.
/// </summary>
public sealed class FunctionMetadataTests
{
    [Fact]
    public async Task FunctionsApp_Metadata_DeclaresHttpFunctionsOrchestratorsAndActivities()
    {
        var functions = await LoadMetadataAsync();

        var sweep = TriggerOf(functions, "OrphanSweep");
        Assert.Contains("timerTrigger", sweep, StringComparison.Ordinal);
        Assert.Contains("%Sweep:Schedule%", sweep, StringComparison.Ordinal);
        Assert.Contains("timerTrigger", TriggerOf(functions, "EmailDelivery"), StringComparison.Ordinal);

        foreach (var orchestrator in new[] { "ProvisionCustomerOrchestrator", "DeprovisionCustomerOrchestrator", "CustomerLifecycleOrchestrator", "ChangePlanOrchestrator" })
        {
            Assert.Contains("orchestrationTrigger", TriggerOf(functions, orchestrator), StringComparison.Ordinal);
        }

        foreach (var activity in new[]
                 {
                     "ReserveCredentialsActivity", "CreateDatabaseActivity", "SeedWorkspaceActivity", "CreateServiceActivity",
                     "DeployServiceActivity", "GetDeploymentStatusActivity", "HealthCheckActivity", "ActivateCustomerActivity",
                     "MarkCustomerFailedActivity", "DeleteServiceActivity", "DeleteDatabaseActivity", "BeginDeprovisionActivity",
                     "CompleteDeprovisionActivity", "NextLifecycleStepActivity", "ReleaseLifecycleActivity", "BeginProvisioningRunActivity",
                     "SetSuspendedActivity", "ApplyPlanActivity", "ArchiveCustomerDataActivity", "RecordOrphanActivity",
                 })
        {
            Assert.Contains("activityTrigger", TriggerOf(functions, activity), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BothHosts_ServeTheSameRoutes_PagesIncluded()
    {
        var functions = await LoadMetadataAsync();
        var functionRoutes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var function in functions)
        {
            var trigger = (function.RawBindings ?? []).Select(b => JsonDocument.Parse(b).RootElement)
                .SingleOrDefault(b => b.GetProperty("type").GetString() == "httpTrigger");
            if (trigger.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var route = trigger.GetProperty("route").GetString() ?? "";
            foreach (var method in trigger.GetProperty("methods").EnumerateArray())
            {
                functionRoutes.Add($"{method.GetString()!.ToUpperInvariant()} /{route}");
            }

            // Each trigger runs the table's route of its own name, so name, method and path agree, and one that needs
            // the durable client has the binding.
            var table = SiteRoutes.Named(function.Name!);
            Assert.Equal(table.Path, route);
            Assert.Equal(table.UsesDurable, (function.RawBindings ?? []).Any(b => b.Contains("\"durableClient\"", StringComparison.Ordinal)));
        }

        await using var app = LocalHostApp.Build(LocalHostApp.CreateBuilder([], new Dictionary<string, string?>
        {
            ["ConnectionStrings:ControlDatabase"] = "Host=127.0.0.1;Database=unused",
        }));
        var localRoutes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var endpoint in ((IEndpointRouteBuilder)app).DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>())
        {
            // The embedded durable sidecar's gRPC service is the local host's own plumbing, not a route of the product.
            if (endpoint.Metadata.Any(m => m.GetType().Name.Contains("Grpc", StringComparison.Ordinal)))
            {
                continue;
            }

            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            {
                localRoutes.Add($"{method} {endpoint.RoutePattern.RawText}");
            }
        }

        Assert.Equal(SiteRoutes.All.Count, functionRoutes.Count);
        Assert.Contains("GET /", functionRoutes);
        Assert.Contains("GET /success/{customerId}", functionRoutes);
        Assert.Contains("POST /api/stripe/webhook", functionRoutes);
        Assert.Equal(string.Join("\n", functionRoutes), string.Join("\n", localRoutes));
    }

    [Fact]
    public void HostJson_ServesFromTheSiteRoot()
    {
        using var host = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "host.json")));
        Assert.Equal("", host.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
    }

    private static async Task<IList<IFunctionMetadata>> LoadMetadataAsync()
    {
        Environment.SetEnvironmentVariable("ConnectionStrings__ControlDatabase", "Host=127.0.0.1;Database=unused");
        Environment.SetEnvironmentVariable("Stripe__WebhookSecret", "whsec_metadata_test");
        Environment.SetEnvironmentVariable("Security__EncryptionKey", Convert.ToBase64String(new byte[32]));
        Environment.SetEnvironmentVariable("Security__AdminKey", "admin_metadata_test_key_0123456789abcdef");
        Environment.SetEnvironmentVariable("Stripe__SecretKey", "sk_test_metadata_0123456789");
        Environment.SetEnvironmentVariable("App__PublicBaseUrl", "https://claw.example.com");
        foreach (var plan in new[] { "Starter", "Pro", "Team" })
        {
            Environment.SetEnvironmentVariable($"Plans__{plan}__StripePriceId", $"price_metadata_{plan}");
        }

        // Production needs an SMTP relay; set only while the host is built, so no other host in this process inherits it.
        Environment.SetEnvironmentVariable("Email__SmtpHost", "smtp.example.com");
        FunctionsApplicationBuilder builder;
        try
        {
            builder = FunctionsHost.Create([]);
        }
        finally
        {
            Environment.SetEnvironmentVariable("Email__SmtpHost", null);
        }

        // At run time the SDK's generated startup code (found on the entry assembly) does this; here the test
        // runner is the entry assembly, so the extension's start-up is applied by hand.
        builder.ConfigureDurableExtension();
        using var host = builder.Build();
        var provider = host.Services.GetRequiredService<IFunctionMetadataProvider>();
        var functions = (await provider.GetFunctionMetadataAsync(AppContext.BaseDirectory)).ToList();
        var transformers = host.Services.GetServices<IFunctionMetadataTransformer>().ToList();
        Assert.True(transformers.Count > 0, "no transformers");
        foreach (var transformer in transformers)
        {
            transformer.Transform(functions);
        }

        return functions;
    }

    private static string TriggerOf(IList<IFunctionMetadata> functions, string name)
    {
        var function = functions.SingleOrDefault(f => f.Name == name);
        Assert.True(function is not null, $"{name} missing; found: {string.Join(", ", functions.Select(f => f.Name))}");
        return string.Join("\n", function.RawBindings ?? []);
    }

}
