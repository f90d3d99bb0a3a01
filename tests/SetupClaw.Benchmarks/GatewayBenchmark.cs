using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using SetupClaw.Credentials;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Benchmarks;

/// <summary>
/// What the model gateway adds: time to the first streamed token, directly from a local stub model and through the
/// real local host's gateway (token check, budget read, forwarding, usage write), one request at a time, and the
/// host's memory. Prints figures; asserts nothing. Usage: ./setupclaw bench gateway [N]
/// </summary>
internal static class GatewayBenchmark
{
    public static async Task RunAsync(int count)
    {
        await using var model = await StubModelServer.StartAsync();
        var database = new TestDatabase();
        await database.InitializeAsync();
        var host = await LocalHostProcess.StartAsync(database.ConnectionString, settings: new Dictionary<string, string>
        {
            ["Llm__Provider"] = "openai", ["Llm__BaseUrl"] = model.OpenAiBaseUrl, ["Llm__ApiKey"] = model.ApiKey, ["Llm__Model"] = "stub-gpt",
            ["Logging__LogLevel__Default"] = "Warning",
        });
        try
        {
            var client = new ControlPlaneClient(host.CreateClient());
            var (customerId, _, _) = await client.SignupAsync("gateway-bench@example.com", "team");
            var token = Secrets.NewGatewayToken();
            await using (var command = database.DataSource.CreateCommand($"update customers set gateway_token_hash = '{Secrets.Hash(token)}', billing_state = 'active' where id = '{customerId}'"))
            {
                await command.ExecuteNonQueryAsync();
            }

            using var http = new HttpClient();
            var direct = new List<double>();
            var gateway = new List<double>();
            // Warm-up (JIT, pools), not counted; then the two paths alternate so both see the same machine.
            for (var i = 0; i < count + 10; i++)
            {
                var viaDirect = await FirstTokenAsync(http, new Uri(model.OpenAiBaseUrl + "/chat/completions"), model.ApiKey);
                var viaGateway = await FirstTokenAsync(http, new Uri(host.BaseUrl, "/api/llm/v1/chat/completions"), token);
                if (i >= 10)
                {
                    direct.Add(viaDirect);
                    gateway.Add(viaGateway);
                }
            }

            var added = direct.Zip(gateway, (d, g) => g - d).ToList();
            var rss = await ResidentMiBAsync(host.ProcessId);
            Console.WriteLine($"Model gateway benchmark: {count} streamed chats, one at a time, loopback, local stub model");
            Console.WriteLine();
            Console.WriteLine(Row("first token, direct", direct));
            Console.WriteLine(Row("first token, through gateway", gateway));
            Console.WriteLine(Row("added by the gateway", added));
            Console.WriteLine($"  control plane (local host) resident memory after the run: {rss.ToString("0", CultureInfo.InvariantCulture)} MiB");
        }
        finally
        {
            await host.DisposeAsync();
            await database.DisposeAsync();
        }
    }

    private static async Task<double> FirstTokenAsync(HttpClient http, Uri url, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent("{\"model\":\"stub-gpt\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"How far is the moon?\"}]}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var clock = Stopwatch.StartNew();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        double? first = null;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (first is null && line.Contains("\"content\"", StringComparison.Ordinal))
            {
                first = clock.Elapsed.TotalMilliseconds;
            }
        }

        return first ?? clock.Elapsed.TotalMilliseconds;
    }

    private static string Row(string name, IReadOnlyCollection<double> values) =>
        $"  {name,-30} median {Stats.Percentile(values, 50),7:0.00} ms   p95 {Stats.Percentile(values, 95),7:0.00} ms";

    private static async Task<double> ResidentMiBAsync(int pid)
    {
        var status = await File.ReadAllLinesAsync($"/proc/{pid}/status");
        var line = status.First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
