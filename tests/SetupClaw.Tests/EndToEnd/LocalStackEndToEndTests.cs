using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// The whole job over HTTP against the real local host process, with real PostgreSQL and real runtime processes:
/// signup → signed webhook (five copies at once) → active → runtime answers → cancellation removes everything.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class LocalStackEndToEndTests(LocalStackFixture stack)
{
    [Fact]
    public async Task PaidSignup_DeliveredFiveTimesAtOnce_ProvisionsOnceAndCancellationRemovesEverything()
    {
        var client = stack.Client;
        var (customerId, token, signup) = await client.SignupAsync("grace@example.com", "pro");
        Assert.StartsWith(stack.Host.BaseUrl + "checkout/", signup.GetProperty("checkoutUrl").GetString());
        Assert.Equal("pending", (await client.StatusAsync(customerId, token)).Body.GetProperty("status").GetString());

        var paid = StripeEventFactory.CheckoutCompleted(customerId, "grace@example.com", DateTimeOffset.UtcNow, signup.GetProperty("checkoutSessionId").GetString());
        var deliveries = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => client.SendEventAsync(paid)));
        Assert.All(deliveries, d => Assert.Equal(HttpStatusCode.OK, d.StatusCode));

        var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
        // 'active' is written inside the last step, a moment before that step's row is closed.
        await Wait.UntilAsync(async () => await stack.Database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and status <> 'completed'") == 0,
            TimeSpan.FromSeconds(10), "every step to be closed");
        var accessUrl = new Uri(active.GetProperty("accessUrl").GetString()!);
        var apiKey = active.GetProperty("apiKey").GetString()!;
        var workspaceId = active.GetProperty("workspaceId").GetString()!;
        Assert.Matches("^claw_[0-9a-f]{64}$", apiKey);
        Assert.All((await client.StatusAsync(customerId, token)).Body.GetProperty("steps").EnumerateArray(), s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from provisioning_steps where customer_id = '{customerId}' and step = 'create_database'"));
        Assert.Equal(1, await stack.Database.CountAsync($"select count(*) from stripe_events where customer_id = '{customerId}'"));
        Assert.DoesNotContain(apiKey, stack.Host.Output, StringComparison.Ordinal);

        using var runtime = new HttpClient { BaseAddress = accessUrl };
        var health = await runtime.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal(workspaceId, health.GetProperty("workspaceId").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await runtime.GetAsync("/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(runtime, "/status", "claw_" + new string('0', 64))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(runtime, "/status", apiKey)).StatusCode);

        // The assistant works: the control plane's Llm settings reached it, and the seed step gave it its workspace.
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        (await runtime.PostAsJsonAsync("/api/memory", new { content = "Grace keeps her compiler notes in a red binder" })).EnsureSuccessStatusCode();
        using var chat = await runtime.PostAsJsonAsync("/api/chat", new { message = "Where are my compiler notes?" });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal("Stub reply to: Where are my compiler notes?", (await chat.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("reply").GetString());
        var prompt = stack.Model.Requests.Last().System;
        // Through the gateway: the provider saw the platform key, and the tokens were counted for this customer.
        Assert.Equal($"Bearer {stack.Model.ApiKey}", stack.Model.Requests.Last().Authorization);
        var counted = await stack.Database.CountAsync($"select coalesce(sum(input_tokens + output_tokens), 0) from model_usage where customer_id = '{customerId}'");
        Assert.True(counted > 0);
        // The assistant's own status shows the same tokens against the plan's budget.
        var usage = (await runtime.GetFromJsonAsync<JsonElement>("/status")).GetProperty("usage");
        Assert.Equal(counted, usage.GetProperty("tokensUsed").GetInt64());
        Assert.Equal(SetupClaw.Plans.Plan.ProPlan.MonthlyTokens, usage.GetProperty("monthlyTokens").GetInt64());
        Assert.Contains("grace@example.com", prompt, StringComparison.Ordinal);
        Assert.Contains("red binder", prompt, StringComparison.Ordinal);
        Assert.Contains("## Skill: meeting-prep", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain(stack.Model.ApiKey, stack.Host.Output, StringComparison.Ordinal);
        runtime.DefaultRequestHeaders.Authorization = null;
        Assert.True(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + customerId));

        using var cancelled = await client.SendEventAsync(StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        await client.WaitForStatusAsync(customerId, token, "deprovisioned", TimeSpan.FromSeconds(60));

        await Assert.ThrowsAsync<HttpRequestException>(() => runtime.GetAsync("/health"));
        Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_database where datname = @name", "claw_" + customerId));
        Assert.False(await TestDatabase.AdminExistsAsync("select 1 from pg_roles where rolname = @name", "claw_" + customerId));
        Assert.False(File.Exists(Path.Combine(stack.Host.StateDirectory, $"claw-{customerId.Replace('_', '-')}.json")));
    }

    [Fact]
    public async Task OfflineCheckout_PayButton_SendsSignedEventAndCustomerBecomesActive()
    {
        var client = stack.Client;
        var (customerId, token, signup) = await client.SignupAsync("lin@example.com", "starter");
        var checkoutUrl = signup.GetProperty("checkoutUrl").GetString()!;

        var page = await client.Http.GetStringAsync(checkoutUrl);
        Assert.Contains("lin@example.com", page, StringComparison.Ordinal);
        using var pay = await client.Http.PostAsync(checkoutUrl + "/pay", null);
        Assert.True(pay.IsSuccessStatusCode, await pay.Content.ReadAsStringAsync());

        var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
        Assert.NotNull(active.GetProperty("apiKey").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await client.Http.GetAsync(checkoutUrl)).StatusCode);

        // 'active' is written by the last activity; the orchestration completes a moment later. The lifecycle run
        // started it as a sub-orchestration and recorded its id.
        var provisioning = await stack.Database.TextAsync($"select orchestration_id from customers where id = '{customerId}'");
        Assert.StartsWith($"provision-{customerId}-1.", provisioning, StringComparison.Ordinal);
        JsonElement orchestration = default;
        await Wait.UntilAsync(async () =>
        {
            using var admin = new HttpRequestMessage(HttpMethod.Get, $"/api/orchestrations/{provisioning}");
            admin.Headers.Add("X-Admin-Key", LocalHostProcess.AdminKey);
            orchestration = await (await client.Http.SendAsync(admin)).Content.ReadFromJsonAsync<JsonElement>();
            return orchestration.GetProperty("runtimeStatus").GetString() == "Completed";
        }, TimeSpan.FromSeconds(10), "the provisioning orchestration to complete");
        // Payloads use the durable data converter's own (PascalCase) names.
        Assert.True(orchestration.GetProperty("output").GetProperty("Succeeded").GetBoolean(), orchestration.ToString());
        Assert.Equal("active", orchestration.GetProperty("customStatus").GetProperty("Step").GetString());

        await client.SendEventAsync(StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow));
        await client.WaitForStatusAsync(customerId, token, "deprovisioned", TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task ALocalRuntime_SeesNoControlPlaneSecret_AndItsRoleOpensNoOtherDatabase()
    {
        var client = stack.Client;
        var (customerId, token, signup) = await client.SignupAsync("hedy@example.com", "starter");
        await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(customerId, "hedy@example.com", DateTimeOffset.UtcNow, signup.GetProperty("checkoutSessionId").GetString()));
        var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
        var serviceId = active.GetProperty("instanceId").GetString()!;

        // The runtime's own environment, as the kernel holds it.
        var pid = int.Parse(await File.ReadAllTextAsync(Path.Combine(stack.Host.StateDirectory, serviceId + ".pid")), System.Globalization.CultureInfo.InvariantCulture);
        var environment = (await File.ReadAllTextAsync($"/proc/{pid}/environ")).Split('\0', StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e.Split('=', 2)).ToDictionary(e => e[0], e => e.Length > 1 ? e[1] : "");
        var superuserPassword = new Npgsql.NpgsqlConnectionStringBuilder(TestDatabase.AdminConnectionString).Password;
        // The platform's model key above all: the runtime calls the control plane's gateway with a token of its own.
        string[] platformSecrets = [stack.Model.ApiKey, LocalHostProcess.AdminKey, LocalHostProcess.WebhookSecret, stack.Database.ConnectionString, TestDatabase.AdminConnectionString];
        foreach (var secret in platformSecrets.Concat(string.IsNullOrEmpty(superuserPassword) ? [] : [superuserPassword]))
        {
            Assert.DoesNotContain(environment.Values, v => v.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, await File.ReadAllTextAsync(Path.Combine(stack.Host.StateDirectory, serviceId + ".json")), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(stack.Model.ApiKey, await File.ReadAllTextAsync($"/proc/{pid}/cmdline"), StringComparison.Ordinal);
        // Deployed with its database and the gateway's address only: its identity and gateway token are in its database.
        Assert.Equal(new Uri(stack.Host.BaseUrl, "/api/llm/v1").ToString().TrimEnd('/'), environment["Llm__BaseUrl"]);
        Assert.DoesNotContain(environment.Keys, k => k is "Llm__ApiKey" or "WORKSPACE_ID" or "API_KEY_HASH" or "CUSTOMER_ID" or "PLAN_NAME");
        Assert.StartsWith("gw_", await TestDatabase.AdminTextAsync($"select gateway_token from runtime_identity", database: "claw_" + customerId), StringComparison.Ordinal);
        Assert.DoesNotContain(environment.Keys, k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)
            || k.StartsWith("Security__", StringComparison.Ordinal) || k.StartsWith("Stripe__", StringComparison.Ordinal) || k.StartsWith("Providers__", StringComparison.Ordinal));

        // Its database credentials open its own database, and neither the control database nor postgres.
        var own = new Npgsql.NpgsqlConnectionStringBuilder(ToConnectionString(environment["DATABASE_URL"]));
        await using (var mine = new Npgsql.NpgsqlConnection(own.ConnectionString))
        {
            await mine.OpenAsync();
        }

        foreach (var other in new[] { stack.Database.Name, "postgres" })
        {
            own.Database = other;
            await using var connection = new Npgsql.NpgsqlConnection(own.ConnectionString);
            var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => connection.OpenAsync());
            Assert.Equal(Npgsql.PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        }

        // The server keeps a SCRAM verifier for the role, never a clear password.
        Assert.StartsWith("SCRAM-SHA-256$", await TestDatabase.AdminTextAsync($"select rolpassword from pg_authid where rolname = 'claw_{customerId}'"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAssistantFromBeforeTheIdentityTable_IsBroughtUpToDateByTheBackfill_AndTheOperatorSeesItsTokens()
    {
        var client = stack.Client;
        var (customerId, token, signup) = await client.SignupAsync("barbara@example.com", "starter");
        await client.SendEventAsync(StripeEventFactory.CheckoutCompleted(customerId, "barbara@example.com", DateTimeOffset.UtcNow, signup.GetProperty("checkoutSessionId").GetString()));
        var active = await client.WaitForStatusAsync(customerId, token, "active", TimeSpan.FromSeconds(90));
        var apiKey = active.GetProperty("apiKey").GetString()!;
        using var runtime = new HttpClient { BaseAddress = new Uri(active.GetProperty("accessUrl").GetString()!) };
        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

        // As provisioned before: no gateway token, no identity in its database.
        await stack.Database.ExecuteAsync($"update customers set gateway_token_hash = null, gateway_token_encrypted = null where id = '{customerId}'");
        await TestDatabase.ExecuteAdminAsync("delete from runtime_identity", database: "claw_" + customerId);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await runtime.PostAsJsonAsync("/api/chat", new { message = "anyone there?" })).StatusCode);

        using var backfill = await stack.Client.AdminAsync(HttpMethod.Post, "/api/operator/backfill");
        var report = await backfill.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, backfill.StatusCode);
        Assert.True(report.GetProperty("tokensIssued").GetInt32() >= 1, report.ToString());
        Assert.Empty(report.GetProperty("failed").EnumerateArray());

        // The running assistant reads its identity per request: it works again at once, through the gateway.
        using var chat = await runtime.PostAsJsonAsync("/api/chat", new { message = "back again?" });
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal($"Bearer {stack.Model.ApiKey}", stack.Model.Requests.Last().Authorization);

        using var view = await stack.Client.AdminAsync(HttpMethod.Get, $"/api/operator/customers/{customerId}");
        var text = await view.Content.ReadAsStringAsync();
        var tokens = JsonDocument.Parse(text).RootElement.GetProperty("modelTokens");
        Assert.Equal(await stack.Database.CountAsync($"select coalesce(sum(input_tokens + output_tokens), 0) from model_usage where customer_id = '{customerId}'"), tokens.GetProperty("used").GetInt64());
        Assert.True(tokens.GetProperty("used").GetInt64() > 0);
        Assert.Equal(SetupClaw.Plans.Plan.StarterPlan.MonthlyTokens, tokens.GetProperty("budget").GetInt64());
        var gatewayToken = await TestDatabase.AdminTextAsync("select gateway_token from runtime_identity", database: "claw_" + customerId);
        foreach (var secret in new[] { apiKey, gatewayToken!, "gw_", "claw_" + customerId + ":", LocalHostProcess.AdminKey })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }

        using var unknown = await stack.Client.AdminAsync(HttpMethod.Get, "/api/operator/customers/cus_00000000000000000000");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        await client.SendEventAsync(StripeEventFactory.SubscriptionDeleted(customerId, DateTimeOffset.UtcNow));
        await client.WaitForStatusAsync(customerId, token, "deprovisioned", TimeSpan.FromSeconds(60));
    }

    /// <summary>A postgres:// URL (what the runtime gets) as an Npgsql connection string, or the string itself.</summary>
    private static string ToConnectionString(string url)
    {
        if (!url.StartsWith("postgres", StringComparison.Ordinal) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return url;
        }

        var user = uri.UserInfo.Split(':', 2);
        return new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = uri.Host, Port = uri.Port > 0 ? uri.Port : 5432, Database = uri.AbsolutePath.Trim('/'),
            Username = Uri.UnescapeDataString(user[0]), Password = user.Length > 1 ? Uri.UnescapeDataString(user[1]) : null,
        }.ConnectionString;
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string path, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http.SendAsync(request);
    }
}

[CollectionDefinition(Name)]
public sealed class EndToEndCollection : ICollectionFixture<LocalStackFixture>
{
    public const string Name = "local stack";
}

/// <summary>One control database and one local host process shared by the tests that need the whole stack.</summary>
public sealed class LocalStackFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();

    public LocalHostProcess Host { get; private set; } = null!;

    public ControlPlaneClient Client { get; private set; } = null!;

    /// <summary>The model every provisioned assistant talks to: the host passes its Llm settings on to each runtime.</summary>
    public StubModelServer Model { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        Model = await StubModelServer.StartAsync();
        Host = await LocalHostProcess.StartAsync(Database.ConnectionString, settings: Runtime.Llm.OpenAi(Model));
        Client = new ControlPlaneClient(Host.CreateClient());
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Database.DisposeAsync();
        await Model.DisposeAsync();
    }
}
