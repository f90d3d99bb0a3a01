using SetupClaw.LocalHost;

var builder = LocalHostApp.CreateBuilder(args);
if (args.Contains("--doctor"))
{
    // ./setupclaw doctor: check the configuration against the real services, print each fix, exit 1 on a failure.
    var findings = await new SetupClaw.Operations.Doctor(builder.Configuration).RunAsync(CancellationToken.None);
    return SetupClaw.Operations.Doctor.Print(findings, Console.Out) ? 0 : 1;
}

var app = LocalHostApp.Build(builder);
if (args.Contains("--demo"))
{
    app.Lifetime.ApplicationStarted.Register(() => _ = Demo.RunAsync(app));
}

await app.RunAsync();
return 0;
