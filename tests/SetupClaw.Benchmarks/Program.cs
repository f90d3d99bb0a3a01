using System.Globalization;
using SetupClaw.Benchmarks;

// ./setupclaw bench [N]                  provisioning: N paid signups to active
// ./setupclaw bench runtime [memories]   one assistant runtime: start-up, memory, search, 50 concurrent chats
// ./setupclaw bench gateway [N]          the model gateway's added time to the first streamed token
// ./setupclaw bench --latency real [N] [B]  cold and warm provisioning of N (10) with real-provider latencies; a burst of B (200)
if (args.Length > 1 && args[0] == "--latency" && args[1] == "real")
{
    await RealLatencyBenchmark.RunAsync(
        args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10,
        args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 200);
}
else if (args.Length > 0 && args[0] == "gateway")
{
    await GatewayBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200);
}
else if (args.Length > 0 && args[0] == "wake")
{
    await WakeBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5);
}
else if (args.Length > 0 && args[0] == "restart")
{
    await RestartBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 50);
}
else if (args.Length > 0 && args[0] == "runtime")
{
    await RuntimeFootprintBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000);
}
else
{
    await ProvisioningBenchmark.RunAsync(args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20);
}
