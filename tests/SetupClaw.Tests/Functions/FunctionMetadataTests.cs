using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Core.FunctionMetadata;
using Microsoft.Extensions.DependencyInjection;
using SetupClaw.Functions;

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

        AssertHttp(functions, "Signup", "signup", "post");
        AssertHttp(functions, "StripeWebhook", "stripe/webhook", "post");
        AssertHttp(functions, "ProvisioningStatus", "provisioning/{customerId}", "get");
        AssertHttp(functions, "OrchestrationStatus", "orchestrations/{instanceId}", "get");
        AssertHttp(functions, "OperatorOrphans", "operator/orphans", "get");
        AssertHttp(functions, "OperatorSweep", "operator/sweep", "post");
        AssertHttp(functions, "OperatorRetry", "operator/customers/{customerId}/retry", "post");
        var sweep = TriggerOf(functions, "OrphanSweep");
        Assert.Contains("timerTrigger", sweep, StringComparison.Ordinal);
        Assert.Contains("%Sweep:Schedule%", sweep, StringComparison.Ordinal);

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

    private static async Task<IList<IFunctionMetadata>> LoadMetadataAsync()
    {
        Environment.SetEnvironmentVariable("ConnectionStrings__ControlDatabase", "Host=127.0.0.1;Database=unused");
        Environment.SetEnvironmentVariable("Stripe__WebhookSecret", "whsec_metadata_test");
        Environment.SetEnvironmentVariable("Security__EncryptionKey", Convert.ToBase64String(new byte[32]));
        Environment.SetEnvironmentVariable("Security__AdminKey", "admin_metadata_test_key");
        var builder = FunctionsHost.Create([]);

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

    private static void AssertHttp(IList<IFunctionMetadata> functions, string name, string route, string method)
    {
        var bindings = TriggerOf(functions, name);
        Assert.Contains("httpTrigger", bindings, StringComparison.Ordinal);
        Assert.Contains($"\"route\":\"{route}\"", bindings.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains($"\"{method}\"", bindings, StringComparison.OrdinalIgnoreCase);
    }
}
