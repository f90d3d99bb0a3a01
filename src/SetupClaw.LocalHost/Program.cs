using SetupClaw;
using SetupClaw.LocalHost;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddLocalSettings();
if (args.Contains("--doctor"))
{
    // ./setupclaw doctor: check the configuration against the real services, print each fix, exit 1 on a failure.
    var findings = await new SetupClaw.Operations.Doctor(builder.Configuration).RunAsync(CancellationToken.None);
    return SetupClaw.Operations.Doctor.Print(findings, Console.Out) ? 0 : 1;
}

builder.Services.AddSetupClawCore(builder.Configuration);
builder.AddDurableSidecar();
builder.Services.AddHostedService<LocalRecovery>();
builder.ConfigureLocalEndpoint();

// The worker's gRPC stream to the sidecar stays open until cancelled: do not let it hold Ctrl-C up for long.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));

var app = builder.Build();
app.MapSetupClawEndpoints();
if (args.Contains("--demo"))
{
    app.Lifetime.ApplicationStarted.Register(() => _ = Demo.RunAsync(app));
}

await app.RunAsync();
return 0;
