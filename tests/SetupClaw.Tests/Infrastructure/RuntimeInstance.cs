using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Npgsql;
using SetupClaw.Credentials;
using SetupClaw.Customers;
using SetupClaw.Lifecycle;
using SetupClaw.Plans;
using SetupClaw.Providers.Local;
using SetupClaw.Provisioning;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>
/// One customer's assistant runtime as a real process: its own database (created in the test PostgreSQL and seeded
/// by the provisioning seed step's <see cref="WorkspaceSeeder"/>, its identity written as the control plane writes it),
/// started with the variables the control plane deploys it with. Output is kept, so tests can check what reached the logs.
/// </summary>
public sealed class RuntimeInstance : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output;

    private RuntimeInstance(Process process, ConcurrentQueue<string> output, string database, AssistantIdentity identity, string apiKey, Uri baseUrl, TimeSpan startedIn)
    {
        this.process = process;
        this.output = output;
        Database = database;
        Identity = identity;
        ApiKey = apiKey;
        BaseUrl = baseUrl;
        StartedIn = startedIn;
    }

    /// <summary>
    /// The build these instances run, chosen as the local host chooses (<see cref="RuntimeBinary.Resolve"/>): the
    /// native binary when <c>./setupclaw test</c> has published it, the managed one otherwise.
    /// </summary>
    public static RuntimeBinary Binary { get; } = RuntimeBinary.Resolve(new LocalProviderOptions());

    public string Database { get; }

    public string ApiKey { get; private set; }

    /// <summary>What the runtime's database says it is (as last written here).</summary>
    public AssistantIdentity Identity { get; private set; }

    public Uri BaseUrl { get; }

    public int ProcessId => process.Id;

    /// <summary>From process start to the first 200 of /health.</summary>
    public TimeSpan StartedIn { get; }

    public string ConnectionString => new NpgsqlConnectionStringBuilder(TestDatabase.AdminConnectionString) { Database = Database }.ConnectionString;

    public string Output => string.Join("\n", output);

    /// <summary>
    /// Creates and seeds a customer database, then starts a runtime on it. With <paramref name="assign"/> false its
    /// identity is not written (a runtime given to nobody yet); <see cref="WriteIdentityAsync"/> gives it one later.
    /// </summary>
    public static async Task<RuntimeInstance> StartAsync(
        string plan = Plan.Starter, IDictionary<string, string>? llm = null, int? messageLimit = null, string? database = null, bool seed = true,
        bool assign = true, string? gatewayToken = null, RuntimeBinary? binary = null)
    {
        var name = database ?? "claw_rt_" + Guid.NewGuid().ToString("N")[..12];
        var connection = new NpgsqlConnectionStringBuilder(TestDatabase.AdminConnectionString) { Database = name }.ConnectionString;
        if (database is null)
        {
            await TestDatabase.ExecuteAdminAsync($"create database \"{name}\"");
        }

        var customer = new Customer
        {
            Id = "cus_runtime_test",
            Email = "ada@example.com",
            Name = "Ada Lovelace",
            AssistantName = "Babbage",
            Plan = plan,
            StatusTokenHash = "unused",
            Status = CustomerStatus.Provisioning,
            WorkspaceId = "ws_" + name[^12..],
        };
        if (seed)
        {
            await new WorkspaceSeeder(TimeProvider.System).SeedAsync(connection, customer, customer.WorkspaceId, CancellationToken.None);
        }

        var apiKey = Secrets.NewApiKey();
        var planInfo = PlanCatalog.Get(plan);
        var identity = AssistantIdentity.For(customer with { ApiKeyHash = Secrets.Hash(apiKey) }, planInfo, planInfo.MonthlyTokens, gatewayToken) with
        {
            MessageLimit = messageLimit ?? planInfo.MessagesPerMonth,
        };
        if (assign)
        {
            await new PostgresCustomerData().WriteIdentityAsync(connection, identity, CancellationToken.None);
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await LaunchAsync(name, connection, identity, apiKey, llm, binary ?? Binary);
            }
            catch (AddressInUse) when (attempt < 5)
            {
                // The free port was taken between asking and binding; another one.
            }
        }
    }

    private static async Task<RuntimeInstance> LaunchAsync(
        string name, string connection, AssistantIdentity identity, string apiKey, IDictionary<string, string>? llm, RuntimeBinary binary)
    {
        var port = LoopbackPorts.Free();
        var start = binary.StartInfo();
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var (key, value) in CreateServiceActivity.RuntimeVariables(connection))
        {
            start.Environment[key] = value;
        }

        foreach (var (key, value) in llm ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["SETUPCLAW_PARENT_PID"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

        var lines = new ConcurrentQueue<string>();
        var watch = Stopwatch.StartNew();
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lines.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        try
        {
            // Polled every 5 ms with one plain HTTP request on a fresh socket (no client of its own to warm up):
            // StartedIn is the start-up figure the footprint benchmark prints.
            await Wait.UntilAsync(async () =>
            {
                if (process.HasExited)
                {
                    await process.WaitForExitAsync(); // drains the redirected output
                    var output = string.Join("\n", lines);
                    throw output.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
                        ? new AddressInUse(output)
                        : new InvalidOperationException($"The runtime exited with {process.ExitCode}: {output}");
                }

                return await HealthyAsync(port);
            }, TimeSpan.FromSeconds(30), "the runtime to become healthy", TimeSpan.FromMilliseconds(5));
        }
        catch (TimeoutException e)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{e.Message} Output: {string.Join("\n", lines)}", e);
        }

        return new RuntimeInstance(process, lines, name, identity, apiKey, baseUrl, watch.Elapsed);
    }

    /// <summary><c>GET /health</c> answered 200 on a fresh loopback connection; false while nothing listens.</summary>
    private static async Task<bool> HealthyAsync(int port)
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await socket.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), timeout.Token);
            await socket.SendAsync("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16];
            var read = 0;
            while (read < 12 && await socket.ReceiveAsync(buffer.AsMemory(read), timeout.Token) is var n and > 0)
            {
                read += n;
            }

            return read >= 12 && System.Text.Encoding.ASCII.GetString(buffer, 0, 12) == "HTTP/1.1 200";
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Writes a changed identity into the runtime's database, as the control plane does; the runtime is not told.</summary>
    public async Task WriteIdentityAsync(AssistantIdentity identity)
    {
        await new PostgresCustomerData().WriteIdentityAsync(ConnectionString, identity, CancellationToken.None);
        Identity = identity;
    }

    /// <summary>Replaces the API key, as a rotation does: returns the new one, which <see cref="CreateClient"/> then sends.</summary>
    public async Task<string> RotateApiKeyAsync()
    {
        var key = Secrets.NewApiKey();
        await WriteIdentityAsync(Identity with { ApiKeyHash = Secrets.Hash(key) });
        ApiKey = key;
        return key;
    }

    /// <summary>A client that sends this instance's API key.</summary>
    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? ApiKey);
        return client;
    }

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    public async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Resident memory of the runtime process, in MiB (VmRSS).</summary>
    public double ResidentMiB()
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    /// <summary>Threads of the runtime process.</summary>
    public int Threads() => int.Parse(
        File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("Threads:", StringComparison.Ordinal))[8..].Trim(), CultureInfo.InvariantCulture);

    /// <summary>Stops the process; the database stays (for a restart on it) until <see cref="DropDatabaseAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        process.Dispose();
        await DropDatabaseAsync();
    }

    public async Task DropDatabaseAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await TestDatabase.ExecuteAdminAsync($"drop database if exists \"{Database}\" with (force)");
    }

    private sealed class AddressInUse(string message) : Exception(message);
}
