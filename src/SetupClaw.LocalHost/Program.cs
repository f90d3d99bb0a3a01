using SetupClaw;
using SetupClaw.LocalHost;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLocalSettings();
builder.Services.AddSetupClawCore(builder.Configuration);
builder.AddDurableSidecar();
builder.Services.AddHostedService<LocalRecovery>();
builder.ConfigureLocalEndpoint();

var app = builder.Build();
app.MapSetupClawEndpoints();
if (args.Contains("--demo"))
{
    app.Lifetime.ApplicationStarted.Register(() => _ = Demo.RunAsync(app));
}

await app.RunAsync();
