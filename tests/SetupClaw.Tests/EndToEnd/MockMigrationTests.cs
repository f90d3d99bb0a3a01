using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Npgsql;
using SetupClaw.Billing;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.EndToEnd;

/// <summary>
/// A prototype-shaped database (the origin inventory's columns, a dozen mock customers in every status, price ids and
/// plan names, an old price, an unknown one, a duplicate), a real local host with real runtimes and a real SMTP
/// server, and the operator's command line as it is run: <c>setupclaw-cli migrate-mock</c> and <c>customers</c>.
/// </summary>
public sealed class MockMigrationFixture : IAsyncLifetime
{
    public TestDatabase Database { get; } = new();

    public BareDatabase Prototype { get; } = new();

    public LocalHostProcess Host { get; private set; } = null!;

    public ControlPlaneClient Client { get; private set; } = null!;

    public StubModelServer Model { get; private set; } = null!;

    public SmtpTestServer Smtp { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Database.InitializeAsync();
        await Prototype.InitializeAsync();
        Model = await StubModelServer.StartAsync();
        Smtp = SmtpTestServer.Start();
        var settings = new Dictionary<string, string>(Runtime.Llm.OpenAi(Model));
        foreach (var (key, value) in Smtp.Settings)
        {
            settings[key] = value;
        }

        Host = await LocalHostProcess.StartAsync(Database.ConnectionString, settings: settings);
        Client = new ControlPlaneClient(Host.CreateClient());
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Smtp.DisposeAsync();
        await Model.DisposeAsync();
        await Prototype.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>An empty database of the test cluster (no SetupClaw schema): the prototype's, as the test builds it.</summary>
public sealed class BareDatabase : IAsyncLifetime, IAsyncDisposable
{
    public string Name { get; } = "sc_proto_" + Guid.NewGuid().ToString("N")[..12];

    public string ConnectionString => new NpgsqlConnectionStringBuilder(TestDatabase.AdminConnectionString) { Database = Name, Pooling = false }.ConnectionString;

    public Task InitializeAsync() => TestDatabase.ExecuteAdminAsync($"create database {Name}");

    public async Task ExecuteAsync(string sql) => await TestDatabase.ExecuteAdminAsync(sql, Name);

    public async Task DisposeAsync() => await TestDatabase.ExecuteAdminAsync($"drop database if exists {Name} with (force)");

    async ValueTask IAsyncDisposable.DisposeAsync() => await DisposeAsync();
}

public sealed class MockMigrationTests(MockMigrationFixture stack) : IClassFixture<MockMigrationFixture>
{
    /// <summary>The prototype's schema (origin inventory, section 6), with its plaintext mock keys.</summary>
    private const string PrototypeSchema =
        """
        create table customers (
            id serial primary key,
            stripe_customer_id varchar(255) unique not null,
            email varchar(255) not null,
            subscription_id varchar(255),
            plan varchar(255),
            status varchar(50),
            workspace_id varchar(255) unique,
            instance_id varchar(255),
            api_key varchar(255),
            access_url varchar(255),
            checkout_session_id varchar(255),
            provisioned_at timestamp,
            created_at timestamp default now(),
            updated_at timestamp default now()
        );
        create index idx_customers_workspace on customers (workspace_id);
        create table memories (id serial primary key, workspace_id varchar(255) not null, agent_id varchar(255) default 'main', content text not null, metadata jsonb, created_at timestamp default now());
        """;

    // (email, plan, status): every status the prototype wrote, price ids and plan names, an old price and an unknown one.
    private static readonly (string Email, string Plan, string Status)[] Mock =
    [
        ("ada@mock.example", "price_test_starter", "active"),
        ("bob@mock.example", "pro", "active"),
        ("cy@mock.example", "price_old_2023", "active"),
        ("dee@mock.example", "starter", "provisioning_failed"),
        ("eve@mock.example", "price_test_pro", "suspended"),
        ("fay@mock.example", "starter", "cancelled"),
        ("gus@mock.example", "pro", "past_due"),
        ("hal@mock.example", "Starter", "trialing"),
        ("ivy@mock.example", "starter", "incomplete"),
        ("jon@mock.example", "starter", "canceled"),
        ("kim@mock.example", "price_unknown_x", "active"),
        ("lee@mock.example", "team", "unpaid"),
    ];

    private static readonly string[] Live = ["ada@mock.example", "cy@mock.example", "dee@mock.example", "hal@mock.example"];

    [Fact]
    public async Task MigrateMock_FromBadInputToDryRunToGrandfatherToProvision_TheRightCustomersEachOnce()
    {
        await SeedPrototypeAsync();
        var source = stack.Prototype.ConnectionString;

        // A duplicate email in the source: a clear message, exit 2, nothing changed.
        await stack.Prototype.ExecuteAsync("insert into customers (stripe_customer_id, email, subscription_id, plan, status) values ('cus_mockdup', 'ADA@mock.example', 'sub_mockdup', 'starter', 'active')");
        var duplicate = await CliAsync("migrate-mock", "--from", source, "--grandfather", "--json");
        Assert.True(duplicate.ExitCode == 2, duplicate.Output + duplicate.Errors);
        Assert.Contains("same email", duplicate.Errors, StringComparison.Ordinal);
        Assert.Equal("", duplicate.Output);
        await stack.Prototype.ExecuteAsync("delete from customers where stripe_customer_id = 'cus_mockdup'");
        Assert.Equal(0, await ImportedAsync());

        // The dry run: the plan only (each customer, what would happen and why), nothing changed anywhere.
        var dry = await JsonCliAsync(0, "migrate-mock", "--from", source, "--grandfather", "--dry-run", "--price-map", "price_old_2023=team", "--json");
        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        var planned = Decisions(dry);
        Assert.Equal(
            ["ada@mock.example", "bob@mock.example", "cy@mock.example", "dee@mock.example", "eve@mock.example", "gus@mock.example", "hal@mock.example", "lee@mock.example"],
            planned.Where(d => d.Outcome == "planned").Select(d => d.Email).Order());
        Assert.Contains("matches no configured price id", planned.Single(d => d.Email == "kim@mock.example").Reason, StringComparison.Ordinal);
        Assert.Equal("team", planned.Single(d => d.Email == "cy@mock.example").Plan);
        Assert.All(planned.Where(d => d.Email is "fay@mock.example" or "jon@mock.example" or "ivy@mock.example"), d => Assert.Equal("skipped", d.Outcome));
        Assert.True(File.Exists(dry.GetProperty("reportPath").GetString()));
        Assert.Equal(0, await ImportedAsync());

        // The clean slate without a Stripe key only reports.
        var slate = Decisions(await JsonCliAsync(0, "migrate-mock", "--from", source, "--clean-slate", "--execute", "--json"));
        Assert.All(slate.Where(d => d.Action == "cancel"), d => Assert.Contains("no Stripe key is configured", d.Reason, StringComparison.Ordinal));
        Assert.Equal(0, await ImportedAsync());

        // Grandfather (the source as a postgres:// URL): the live and past-due ones, bound to their subscriptions, nothing provisioned.
        var url = PostgresUrl(source);
        var grandfathered = Decisions(await JsonCliAsync(0, "migrate-mock", "--from", url, "--grandfather", "--price-map", "price_old_2023=team", "--json"));
        Assert.Equal(8, grandfathered.Count(d => d.Outcome == "done"));
        Assert.Equal(8, await stack.Database.CountAsync("select count(*) from customers where provisioning_status = 'grandfathered' and stripe_subscription_id like 'sub_mock%' and imported_at is not null"));
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from customers where access_url is not null or api_key_hash is not null or workspace_id is not null"));
        // Nothing of the mock era became a credential, or was copied at all.
        Assert.Equal(0, await stack.Database.CountAsync("select count(*) from customers c where row_to_json(c)::text ~ '(claw_mock_|ws_fake_|fake\\.clawdbot)'"));
        Assert.Equal("suspended", await stack.Database.TextAsync("select billing_state from customers where email = 'gus@mock.example'"));

        // A later cancellation event for a grandfathered subscription finds its customer.
        var bob = await stack.Database.TextAsync("select id from customers where email = 'bob@mock.example'");
        using (var deleted = await stack.Client.SendEventAsync(StripeEventFactory.SubscriptionDeleted(bob!, DateTimeOffset.UtcNow, withMetadata: false, subscriptionId: "sub_mock02")))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        await Wait.UntilAsync(async () => await stack.Database.TextAsync($"select provisioning_status from customers where id = '{bob}'") == "deprovisioned",
            TimeSpan.FromSeconds(60), "the cancelled grandfathered customer to be marked cancelled");

        // The CLI's --json is the API's answer: every page followed for the list.
        var listed = await JsonCliAsync(0, "customers", "list", "--status", "grandfathered", "--json");
        // Pages of 3, followed by hand: the same 7, newest first, none twice.
        var paged = new List<string>();
        for (string? after = null, first = "yes"; first is not null || after is not null; first = null)
        {
            using var page = await stack.Client.AdminAsync(HttpMethod.Get, "/api/operator/customers?status=grandfathered&limit=3" + (after is null ? "" : "&after=" + after));
            var body = JsonDocument.Parse(await page.Content.ReadAsStringAsync()).RootElement;
            Assert.InRange(body.GetProperty("customers").GetArrayLength(), 1, 3);
            paged.AddRange(body.GetProperty("customers").EnumerateArray().Select(c => c.GetProperty("id").GetString()!));
            after = body.GetProperty("next").GetString();
        }

        Assert.Equal(7, listed.GetArrayLength());
        Assert.Equal(listed.EnumerateArray().Select(c => c.GetProperty("id").GetString()!), paged);
        Assert.Equal(7, paged.Distinct().Count());
        var ada = listed.EnumerateArray().Single(c => c.GetProperty("email").GetString() == "ada@mock.example").GetProperty("id").GetString()!;
        var shown = await JsonCliAsync(0, "customers", "show", ada, "--json");
        using (var api = await stack.Client.AdminAsync(HttpMethod.Get, $"/api/operator/customers/{ada}"))
        {
            var fromApi = JsonDocument.Parse(await api.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal(fromApi.GetProperty("status").GetString(), shown.GetProperty("status").GetString());
            Assert.Equal(fromApi.GetProperty("subscriptionId").GetString(), shown.GetProperty("subscriptionId").GetString());
        }

        // A past-due grandfathered customer is not provisioned by hand either: exit 1, with Stripe's word.
        var gus = await stack.Database.TextAsync("select id from customers where email = 'gus@mock.example'");
        var refused = await CliAsync("customers", "provision", gus!);
        Assert.True(refused.ExitCode == 1, refused.Output + refused.Errors);
        Assert.Contains("suspended", refused.Errors, StringComparison.Ordinal);

        // Provision: exactly the live ones become active with working runtimes, and each is emailed the dashboard link.
        var provisioned = await JsonCliAsync(0, "migrate-mock", "--from", source, "--provision", "--per-minute", "600", "--price-map", "price_old_2023=team", "--json");
        var done = Decisions(provisioned).Where(d => d.Outcome == "done").ToList();
        Assert.Equal(Live, done.Select(d => d.Email).Order());
        Assert.Equal(4, await stack.Database.CountAsync("select count(*) from customers where provisioning_status = 'active'"));
        foreach (var decision in done)
        {
            var accessUrl = await stack.Database.TextAsync($"select access_url from customers where id = '{decision.CustomerId}'");
            using var runtime = new HttpClient { BaseAddress = new Uri(accessUrl!), Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(HttpStatusCode.OK, (await runtime.GetAsync("/health")).StatusCode);
            // The mock key opens nothing.
            using var request = new HttpRequestMessage(HttpMethod.Get, "/status");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MockKey(decision.Email));
            Assert.Contains((await runtime.SendAsync(request)).StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
        }

        var migrated = await stack.Smtp.WaitForAsync("ada@mock.example", "migrated", TimeSpan.FromSeconds(120));
        Assert.Contains(stack.Host.BaseUrl + "dashboard", migrated.TextBody, StringComparison.Ordinal);
        foreach (var message in stack.Smtp.MessagesTo("ada@mock.example"))
        {
            Assert.DoesNotMatch("claw_[0-9a-f]{64}", message.TextBody + message.HtmlBody);
            Assert.DoesNotContain(MockKey("ada@mock.example"), message.TextBody + message.HtmlBody, StringComparison.Ordinal);
        }

        // A second run provisions nobody twice.
        var again = Decisions(await JsonCliAsync(0, "migrate-mock", "--from", source, "--provision", "--per-minute", "600", "--price-map", "price_old_2023=team", "--json"));
        Assert.DoesNotContain(again, d => d.Outcome == "done");
        Assert.All(again.Where(d => Live.Contains(d.Email)), d => Assert.Contains("already provisioned", d.Reason, StringComparison.Ordinal));
        Assert.Equal(4, await stack.Database.CountAsync("select count(*) from customers where provisioning_status = 'active'"));
        Assert.Equal(8, await ImportedAsync());
    }

    [Fact]
    public async Task MigrateMock_BadSources_Exit2_WithAMessage_AndChangeNothing()
    {
        var before = await ImportedAsync();
        var unreachable = await CliAsync("migrate-mock", "--from", "postgres://u:secretpw@127.0.0.1:1/proto", "--grandfather");
        Assert.Equal(2, unreachable.ExitCode);
        Assert.Contains("could not be reached", unreachable.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("secretpw", unreachable.Errors, StringComparison.Ordinal);

        await using var wrong = new BareDatabase();
        await wrong.InitializeAsync();
        await wrong.ExecuteAsync("create table customers (id serial primary key, email text)");
        var columns = await CliAsync("migrate-mock", "--from", wrong.ConnectionString, "--grandfather");
        Assert.Equal(2, columns.ExitCode);
        Assert.Contains("lacks stripe_customer_id, subscription_id, plan, status", columns.Errors, StringComparison.Ordinal);

        var garbage = Path.Combine(Path.GetTempPath(), $"not-a-dump-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(garbage, "this is not SQL at all;\n");
        var custom = Path.Combine(Path.GetTempPath(), $"custom-{Guid.NewGuid():N}.dump");
        await File.WriteAllBytesAsync(custom, [.. "PGDMP"u8, 1, 14, 0]);
        try
        {
            var notSql = await CliAsync("migrate-mock", "--from", garbage, "--grandfather", "--scratch", TestDatabase.AdminConnectionString);
            Assert.Equal(2, notSql.ExitCode);
            Assert.Contains("no customers table", notSql.Errors, StringComparison.Ordinal);
            var customFormat = await CliAsync("migrate-mock", "--from", custom, "--grandfather", "--scratch", TestDatabase.AdminConnectionString);
            Assert.Equal(2, customFormat.ExitCode);
            Assert.Contains("custom-format dump", customFormat.Errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(garbage);
            File.Delete(custom);
        }

        Assert.Equal(2, (await CliAsync("migrate-mock", "--from", stack.Prototype.ConnectionString)).ExitCode);
        Assert.Equal(2, (await CliAsync("migrate-mock", "--from", stack.Prototype.ConnectionString, "--grandfather", "--provision")).ExitCode);
        Assert.Equal(2, (await CliAsync("migrate-mock", "--from", stack.Prototype.ConnectionString, "--grandfather", "--price-map", "price_x=gold")).ExitCode);
        Assert.Equal(2, (await CliAsync("customers", "show", "cus_00000000000000000000")).ExitCode);
        // No scratch database is left behind by the failed restores.
        Assert.Null(await TestDatabase.AdminTextAsync("select datname from pg_database where datname like 'mock_restore_%' limit 1"));
        Assert.Equal(before, await ImportedAsync());
    }

    [Fact]
    public async Task MigrateMock_FromAPlainPgDump_RestoresIntoAScratchDatabase_AndDropsIt()
    {
        await using var prototype = new BareDatabase();
        await prototype.InitializeAsync();
        await prototype.ExecuteAsync(PrototypeSchema);
        await prototype.ExecuteAsync("insert into customers (stripe_customer_id, email, subscription_id, plan, status, api_key) values ('cus_dump1', 'dumped@mock.example', 'sub_dump1', 'starter', 'active', 'claw_mock_dumped')");
        var dump = Path.Combine(Path.GetTempPath(), $"backup-customers-{Guid.NewGuid():N}.sql");
        var builder = new NpgsqlConnectionStringBuilder(prototype.ConnectionString);
        var (exitCode, _, errors) = await Processes.RunAsync(PgDump(), ["--format=plain", "--no-owner", "-f", dump], TimeSpan.FromMinutes(2), environment: new Dictionary<string, string?>
        {
            ["PGHOST"] = builder.Host, ["PGPORT"] = builder.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGUSER"] = builder.Username, ["PGPASSWORD"] = builder.Password, ["PGDATABASE"] = builder.Database,
        });
        Assert.True(exitCode == 0, errors);
        try
        {
            var plan = Decisions(await JsonCliAsync(0, "migrate-mock", "--from", dump, "--grandfather", "--dry-run", "--json", "--scratch", TestDatabase.AdminConnectionString));
            var only = Assert.Single(plan);
            Assert.Equal(("dumped@mock.example", "planned"), (only.Email, only.Outcome));
            Assert.Null(await TestDatabase.AdminTextAsync("select datname from pg_database where datname like 'mock_restore_%' limit 1"));
        }
        finally
        {
            File.Delete(dump);
        }
    }

    private async Task SeedPrototypeAsync()
    {
        await stack.Prototype.ExecuteAsync(PrototypeSchema);
        for (var i = 0; i < Mock.Length; i++)
        {
            var (email, plan, status) = Mock[i];
            var n = (i + 1).ToString("00", System.Globalization.CultureInfo.InvariantCulture);
            await stack.Prototype.ExecuteAsync(
                $"""
                insert into customers (stripe_customer_id, email, subscription_id, plan, status, workspace_id, instance_id, api_key, access_url, provisioned_at)
                values ('cus_mock{n}', '{email}', 'sub_mock{n}', '{plan}', '{status}', 'ws_fake_{n}', 'srv_fake_{n}', '{MockKey(email)}', 'https://ws_fake_{n}.fake.clawdbot.example', now())
                """);
        }
    }

    private static string MockKey(string email) => "claw_mock_" + email.Split('@')[0] + "0123456789abcdef";

    private Task<long> ImportedAsync() => stack.Database.CountAsync("select count(*) from customers where imported_at is not null");

    private sealed record Decision(string SourceId, string Email, string Action, string Outcome, string Reason, string? CustomerId, string? Plan);

    private static List<Decision> Decisions(JsonElement report) =>
        report.GetProperty("customers").Deserialize<List<Decision>>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;

    private static string PostgresUrl(string connectionString)
    {
        var b = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgresql://{Uri.EscapeDataString(b.Username!)}:{Uri.EscapeDataString(b.Password!)}@{b.Host}:{b.Port}/{b.Database}?sslmode=disable";
    }

    private static string PgDump() =>
        new[] { "/usr/bin/pg_dump" }.Concat(Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin", "pg_dump")) : [])
            .First(File.Exists);

    private async Task<JsonElement> JsonCliAsync(int expectedExit, params string[] arguments)
    {
        var (exitCode, output, errors) = await CliAsync(arguments);
        Assert.True(exitCode == expectedExit, $"exit {exitCode}\n{output}\n{errors}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }

    private Task<(int ExitCode, string Output, string Errors)> CliAsync(params string[] arguments) =>
        Processes.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "setupclaw-cli.dll"), "--url", stack.Host.BaseUrl.ToString(), "--admin-key", LocalHostProcess.AdminKey, .. arguments],
            TimeSpan.FromMinutes(5), environment: new Dictionary<string, string?> { ["SETUPCLAW_URL"] = null, ["SETUPCLAW_ADMIN_KEY"] = null, ["SETUPCLAW_SCRATCH_PG"] = null });
}
