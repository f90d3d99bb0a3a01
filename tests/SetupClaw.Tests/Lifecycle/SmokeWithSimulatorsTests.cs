using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SetupClaw.Cli;
using SetupClaw.Providers;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Lifecycle;

/// <summary>
/// The operator's smoke flow against the Neon and Railway simulators (which reject what the real APIs would): the
/// test customer's branch and service are created and removed through their contracts, and the final check asks the
/// providers themselves. The simulators run no runtime, so the assistant's side is a stand-in that answers from the
/// identity the control plane wrote and keeps memories in memory; with no model configured, the chat is skipped.
/// </summary>
[Collection(SimulatedLoadCollection.Name)]
public sealed class SmokeWithSimulatorsTests : IAsyncLifetime
{
    private SimulatedStack stack = null!;

    public async Task InitializeAsync() => stack = await SimulatedStack.StartAsync();

    public async Task DisposeAsync() => await stack.DisposeAsync();

    [Fact]
    public async Task Smoke_AgainstTheSimulators_Passes_SkipsTheChatWithItsReason_AndLeavesNoBranchOrService()
    {
        using var controlPlane = new HttpClient { BaseAddress = stack.Http.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        controlPlane.DefaultRequestHeaders.Add(OperatorConnection.AdminKeyHeader, SimulatedStack.AdminKey);
        var runtime = new StandInRuntime(stack);
        var test = new SmokeTest(controlPlane, url => new HttpClient(runtime, disposeHandler: false) { BaseAddress = url }, TimeSpan.FromSeconds(60), _ => { });

        var result = await test.RunAsync("pro", CancellationToken.None);

        Assert.True(result.Passed, string.Join("\n", result.Steps));
        var chat = Assert.Single(result.Steps, s => s.Name == "chat");
        Assert.Equal(SmokeStep.Skipped, chat.Outcome);
        Assert.Contains("Llm:Provider", chat.Detail, StringComparison.Ordinal);
        Assert.Equal(1, runtime.MemoriesWritten);
        Assert.DoesNotContain(ResourceNames.Branch(result.CustomerId!), stack.Neon.BranchNames);
        Assert.DoesNotContain(ResourceNames.Service(result.CustomerId!), stack.Railway.ServiceNames);
        Assert.Empty(stack.Neon.Violations);
        Assert.Empty(stack.Railway.Violations);
    }

    /// <summary>What a runtime at a Railway domain answers: /health from its identity, and the memory endpoints.</summary>
    private sealed class StandInRuntime(SimulatedStack stack) : HttpMessageHandler
    {
        private readonly ConcurrentQueue<string> memories = new();

        public int MemoriesWritten => memories.Count;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var host = request.RequestUri!.Host;
            var customerId = ResourceNames.CustomerOf(host[..Math.Max(0, host.IndexOf("-production", StringComparison.Ordinal))]) ?? "";
            var identity = stack.CustomerData.IdentityOf(customerId);
            if (identity is null)
            {
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
            }

            var path = request.RequestUri.AbsolutePath;
            if (path == "/health")
            {
                return Json(new { status = "healthy", workspaceId = identity.WorkspaceId, database = "connected", modelProvider = "none", plan = identity.PlanName });
            }

            if (request.Headers.Authorization?.Parameter is not { } key || SetupClaw.Credentials.Secrets.Hash(key) != identity.ApiKeyHash)
            {
                return new HttpResponseMessage(HttpStatusCode.Forbidden);
            }

            if (path == "/api/memory" && request.Method == HttpMethod.Post)
            {
                memories.Enqueue(JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!["content"]!.GetValue<string>());
                return new HttpResponseMessage(HttpStatusCode.Created);
            }

            if (path == "/api/memory/search")
            {
                var query = Uri.UnescapeDataString(request.RequestUri.Query.Split("query=")[1].Split('&')[0]);
                return Json(new { query, memories = memories.Where(m => m.Contains(query, StringComparison.Ordinal)).Select(m => new { content = m }) });
            }

            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        private static HttpResponseMessage Json(object body) =>
            new(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json") };
    }
}
