using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.Hosting;
using SetupClaw;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddSetupClawCore(builder.Configuration);
builder.ConfigureDurableWorker().AddTasks(registry => registry.AddSetupClawTasks());
await builder.Build().RunAsync();
