using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace SetupClaw.Cli;

/// <summary>One step of a smoke run: passed, failed or skipped (with the reason), and how long it took.</summary>
public sealed record SmokeStep(string Name, string Outcome, double Seconds, string? Detail = null)
{
    public const string Passed = "passed";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
}

public sealed record SmokeResult(bool Passed, string? CustomerId, double Seconds, IReadOnlyList<SmokeStep> Steps);

/// <summary>
/// The seed's test-provisioning, against whatever providers the control plane runs: a throwaway test customer
/// through the real lifecycle (no payment), its assistant's health, a chat (skipped, with the reason, when no model is
/// configured), a memory write and a search for it, then deprovisioning, and a check that its database and service
/// are gone. Whatever fails, the test customer is removed before the run ends.
/// </summary>
public sealed class SmokeTest(HttpClient controlPlane, Func<Uri, HttpClient> runtimeClient, TimeSpan timeout, Action<string> progress)
{
    private readonly List<SmokeStep> steps = [];
    private string? statusToken;

    public async Task<SmokeResult> RunAsync(string plan, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        string? customerId = null;
        try
        {
            var (id, statusToken) = await StepAsync("create test customer", () => CreateAsync(plan, cancellationToken));
            customerId = id;
            this.statusToken = statusToken;
            var status = await StepAsync("provision", () => ProvisionAsync(id, cancellationToken));
            await AssistantAsync(status, cancellationToken);
        }
        catch (SmokeFailure)
        {
            // Recorded as a failed step; cleaning up follows.
        }

        if (customerId is not null)
        {
            // Even after Ctrl-C: the test customer is removed, with a deadline of its own.
            using var cleanup = new CancellationTokenSource(timeout + TimeSpan.FromSeconds(30));
            try
            {
                await StepAsync("deprovision", () => DeprovisionAsync(customerId, cleanup.Token));
                await StepAsync("resources gone", () => GoneAsync(customerId, cleanup.Token));
            }
            catch (SmokeFailure)
            {
                // Recorded as a failed step.
            }
        }

        return new SmokeResult(steps.All(s => s.Outcome != SmokeStep.Failed), customerId, total.Elapsed.TotalSeconds, steps);
    }

    private async Task AssistantAsync(JsonElement status, CancellationToken cancellationToken)
    {
        var (accessUrl, apiKey) = await StepAsync("credentials", () => Task.FromResult(
            status.TryGetProperty("accessUrl", out var url) && Uri.TryCreate(url.GetString(), UriKind.Absolute, out var address)
                && status.TryGetProperty("apiKey", out var key) && key.GetString() is { Length: > 0 } value
                ? (address, value)
                : throw Fail("credentials", "the status answer holds no access URL or API key (the key is shown for a short while after provisioning)")));
        using var runtime = runtimeClient(accessUrl);
        var health = await StepAsync("health", async () =>
        {
            using var response = await runtime.GetAsync(new Uri("/health", UriKind.Relative), cancellationToken);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK || body.GetProperty("workspaceId").GetString() != status.GetProperty("workspaceId").GetString())
            {
                throw Fail("health", $"HTTP {(int)response.StatusCode}: {body}");
            }

            return body;
        });

        runtime.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        var provider = health.GetProperty("modelProvider").GetString();
        if (provider is "none" or "misconfigured")
        {
            steps.Add(new SmokeStep("chat", SmokeStep.Skipped, 0, $"no model is configured on the control plane (model provider: {provider}); set Llm:Provider, Llm:Model and Llm:ApiKey"));
        }
        else
        {
            await StepAsync("chat", async () =>
            {
                using var chat = await runtime.PostAsJsonAsync("/api/chat", new { message = "This is a SetupClaw smoke test: answer with one word." }, cancellationToken);
                return chat.IsSuccessStatusCode ? true : throw Fail("chat", $"HTTP {(int)chat.StatusCode}: {await chat.Content.ReadAsStringAsync(cancellationToken)}");
            });
        }

        var marker = "smokemarker" + Guid.NewGuid().ToString("N")[..10];
        await StepAsync("memory write", async () =>
        {
            using var write = await runtime.PostAsJsonAsync("/api/memory", new { content = $"The smoke test left {marker} here." }, cancellationToken);
            return write.IsSuccessStatusCode ? true : throw Fail("memory write", $"HTTP {(int)write.StatusCode}: {await write.Content.ReadAsStringAsync(cancellationToken)}");
        });
        await StepAsync("memory search", async () =>
        {
            var found = await runtime.GetFromJsonAsync<JsonElement>($"/api/memory/search?query={marker}", cancellationToken);
            return found.GetProperty("memories").EnumerateArray().Any(m => m.GetProperty("content").GetString()!.Contains(marker, StringComparison.Ordinal))
                ? true
                : throw Fail("memory search", $"the memory just written was not found: {found}");
        });
    }

    private async Task<(string Id, string StatusToken)> CreateAsync(string plan, CancellationToken cancellationToken)
    {
        using var response = await controlPlane.PostAsync(new Uri($"api/operator/smoke?plan={Uri.EscapeDataString(plan)}", UriKind.Relative), null, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw Fail("create test customer", $"HTTP {(int)response.StatusCode}: {body}");
        }

        var created = JsonDocument.Parse(body).RootElement;
        var id = created.GetProperty("customerId").GetString()!;
        progress($"test customer {id} created (if this run is killed, the sweep removes it after an hour)");
        return (id, created.GetProperty("statusToken").GetString()!);
    }

    private async Task<JsonElement> ProvisionAsync(string customerId, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        string? last = null;
        while (deadline.Elapsed < timeout)
        {
            var status = await StatusAsync(customerId, cancellationToken);
            var state = status.GetProperty("status").GetString();
            var step = status.TryGetProperty("step", out var s) ? s.GetString() : null;
            if ($"{state}/{step}" != last)
            {
                progress($"  {state}{(step is null ? "" : $" ({step})")}");
                last = $"{state}/{step}";
            }

            if (state == "active")
            {
                AddSagaSteps(status);
                return status;
            }

            if (state == "failed")
            {
                AddSagaSteps(status);
                throw Fail("provision", status.TryGetProperty("error", out var error) ? error.GetString() ?? "failed" : "failed");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        throw Fail("provision", $"not active after {timeout.TotalSeconds:0} s (last: {last})");
    }

    /// <summary>The customer's status answer, as the success page reads it (with the test customer's status token).</summary>
    private async Task<JsonElement> StatusAsync(string customerId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/provisioning/{customerId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", statusToken);
        using var response = await controlPlane.SendAsync(request, cancellationToken);
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <summary>The saga's own steps, with the times the control plane recorded.</summary>
    private void AddSagaSteps(JsonElement status)
    {
        foreach (var step in status.GetProperty("steps").EnumerateArray())
        {
            var started = step.GetProperty("startedAt");
            var completed = step.GetProperty("completedAt");
            var seconds = started.ValueKind == JsonValueKind.String && completed.ValueKind == JsonValueKind.String
                ? (completed.GetDateTimeOffset() - started.GetDateTimeOffset()).TotalSeconds
                : 0;
            var state = step.GetProperty("status").GetString();
            steps.Add(new SmokeStep("  " + step.GetProperty("name").GetString(), state == "completed" ? SmokeStep.Passed : state == "failed" ? SmokeStep.Failed : SmokeStep.Skipped, seconds, state));
        }
    }

    private async Task<bool> DeprovisionAsync(string customerId, CancellationToken cancellationToken)
    {
        using var response = await controlPlane.DeleteAsync(new Uri($"api/operator/smoke/{customerId}", UriKind.Relative), cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw Fail("deprovision", $"HTTP {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }

        // The light status answer, polled; the providers are asked once, afterwards (GoneAsync).
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            var state = (await StatusAsync(customerId, cancellationToken)).GetProperty("status").GetString();
            if (state is "deprovisioned")
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }

        throw Fail("deprovision", $"not deprovisioned after {timeout.TotalSeconds:0} s");
    }

    private async Task<bool> GoneAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await controlPlane.GetFromJsonAsync<JsonElement>($"api/operator/customers/{customerId}", cancellationToken);
        var resources = customer.GetProperty("resources");
        var left = new[] { "database", "service" }.Where(r => resources.GetProperty(r).GetBoolean()).ToList();
        return left.Count == 0 ? true : throw Fail("resources gone", $"still there: {string.Join(", ", left)}");
    }

    private async Task<T> StepAsync<T>(string name, Func<Task<T>> run)
    {
        progress(name + " …");
        var watch = Stopwatch.StartNew();
        // A step is listed before the sub-steps it records (the saga's steps under "provision").
        var at = steps.Count;
        try
        {
            var result = await run();
            steps.Insert(at, new SmokeStep(name, SmokeStep.Passed, watch.Elapsed.TotalSeconds));
            return result;
        }
        catch (SmokeFailure failure)
        {
            steps.Insert(at, new SmokeStep(failure.Step, SmokeStep.Failed, watch.Elapsed.TotalSeconds, failure.Message));
            throw;
        }
        catch (Exception e) when (e is not SmokeFailure)
        {
            steps.Insert(at, new SmokeStep(name, SmokeStep.Failed, watch.Elapsed.TotalSeconds, e.Message));
            throw new SmokeFailure(name, e.Message);
        }
    }

    private static SmokeFailure Fail(string step, string message) => new(step, message);

    private sealed class SmokeFailure(string step, string message) : Exception(message)
    {
        public string Step { get; } = step;
    }
}
