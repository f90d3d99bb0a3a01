using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace SetupClaw.LocalHost;

/// <summary>
/// <c>--demo</c>: what a new customer does, over HTTP against this host: sign up, pay on the offline checkout page,
/// poll the status until active, then call the assistant with the key it was given.
/// </summary>
internal static class Demo
{
    public static async Task RunAsync(WebApplication app)
    {
        var baseUrl = new Uri(app.Configuration["App:PublicBaseUrl"] ?? "http://127.0.0.1:7071");
        using var http = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(30) };
        try
        {
            var clock = Stopwatch.StartNew();
            using var signup = await http.PostAsJsonAsync("/api/signup", new { email = "demo@example.com", plan = "pro", name = "Demo Customer", assistantName = "Pinch" });
            signup.EnsureSuccessStatusCode();
            var created = await signup.Content.ReadFromJsonAsync<JsonElement>();
            var customerId = created.GetProperty("customerId").GetString()!;
            var token = created.GetProperty("statusToken").GetString()!;
            Console.WriteLine($"Signed up {customerId} (pro); paying at {created.GetProperty("checkoutUrl").GetString()}");

            using var pay = await http.PostAsync(new Uri(created.GetProperty("checkoutUrl").GetString() + "/pay"), null);
            pay.EnsureSuccessStatusCode();
            var paidAt = clock.Elapsed;

            JsonElement status;
            do
            {
                await Task.Delay(250);
                using var poll = new HttpRequestMessage(HttpMethod.Get, $"/api/provisioning/{customerId}");
                poll.Headers.Authorization = new("Bearer", token);
                using var answer = await http.SendAsync(poll);
                status = await answer.Content.ReadFromJsonAsync<JsonElement>();
            }
            while (status.GetProperty("status").GetString() is "pending" or "provisioning" && clock.Elapsed < TimeSpan.FromMinutes(3));

            if (status.GetProperty("status").GetString() != "active")
            {
                Console.WriteLine($"DEMO FAILED: {status}");
                return;
            }

            var accessUrl = status.GetProperty("accessUrl").GetString()!;
            var apiKey = status.GetProperty("apiKey").GetString()!;
            using var assistant = new HttpClient { BaseAddress = new Uri(accessUrl), Timeout = TimeSpan.FromSeconds(90) };
            assistant.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
            using var remembered = await assistant.PostAsJsonAsync("/api/memory", new { content = "The demo customer prefers short answers." });
            using var chat = await assistant.PostAsJsonAsync("/api/chat", new { message = "Hello! What do you know about me?" });
            var reply = await chat.Content.ReadFromJsonAsync<JsonElement>();
            var said = chat.IsSuccessStatusCode ? reply.GetProperty("reply").GetString() : reply.GetProperty("detail").GetString();

            Console.WriteLine();
            Console.WriteLine("  Your assistant is running.");
            Console.WriteLine($"  Access URL : {accessUrl}");
            Console.WriteLine($"  API key    : {apiKey}");
            Console.WriteLine($"  Took       : {(clock.Elapsed - paidAt).TotalSeconds:0.0} s from payment to active");
            Console.WriteLine($"  Memory     : {(int)remembered.StatusCode} stored");
            Console.WriteLine($"  Chat       : {(int)chat.StatusCode} {said}");
            Console.WriteLine($"  Try it     : curl -H 'Authorization: Bearer {apiKey}' -H 'Content-Type: application/json' -d '{{\"message\":\"hi\"}}' {accessUrl}/api/chat");
            Console.WriteLine($"  Your page  : {new Uri(baseUrl, $"/success/{customerId}#token={token}")} (Open dashboard signs this browser in)");
            Console.WriteLine($"  Sign in    : {new Uri(baseUrl, "/dashboard/sign-in")} with demo@example.com; the link arrives in the outbox");
            foreach (var line in await OutboxAsync(app))
            {
                Console.WriteLine(line);
            }

            Console.WriteLine("  Press Ctrl-C to stop everything.");
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or TaskCanceledException)
        {
            Console.WriteLine($"DEMO FAILED: {e.Message}");
        }
    }

    /// <summary>Where the customer emails went (<c>Email:OutboxDirectory</c> when no SMTP host is set) and the newest three, once the welcome email is there.</summary>
    private static async Task<IReadOnlyList<string>> OutboxAsync(WebApplication app)
    {
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Email.EmailOptions>>().Value;
        if (options.UsesSmtp)
        {
            return [$"  Emails     : sent through {options.SmtpHost}:{options.SmtpPort}"];
        }

        var directory = Path.GetFullPath(options.OutboxDirectory);
        var deadline = Stopwatch.StartNew();
        FileInfo[] newest;
        do
        {
            newest = Directory.Exists(directory)
                ? [.. new DirectoryInfo(directory).GetFiles("*.eml").OrderByDescending(f => f.Name, StringComparer.Ordinal).Take(3)]
                : [];
            if (newest.Any(f => f.Name.Contains("-welcome-", StringComparison.Ordinal)))
            {
                break;
            }

            await Task.Delay(200);
        }
        while (deadline.Elapsed < TimeSpan.FromSeconds(10));

        return [$"  Emails     : {directory} (the outbox; open an .eml with any mail client)", .. newest.Select(f => $"               {f.Name}")];
    }
}
