using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask.Worker;

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
        return builder;
    }
}
