using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using SetupClaw.Functions;

await FunctionsHost.Create(args).Build().RunAsync();
