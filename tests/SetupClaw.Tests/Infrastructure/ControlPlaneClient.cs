using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SetupClaw.Billing;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>What a browser and Stripe do against the control plane, over HTTP.</summary>
public sealed class ControlPlaneClient(HttpClient http, string webhookSecret = LocalHostProcess.WebhookSecret)
{
    public HttpClient Http => http;

    public async Task<(string CustomerId, string StatusToken, JsonElement Body)> SignupAsync(string email = "ada@example.com", string plan = "pro")
    {
        using var response = await http.PostAsJsonAsync("/api/signup", new { email, plan, name = "Ada", assistantName = "Pinch" });
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, body.ToString());
        return (body.GetProperty("customerId").GetString()!, body.GetProperty("statusToken").GetString()!, body);
    }

    public Task<HttpResponseMessage> SendEventAsync(string payload, DateTimeOffset? signedAt = null, string? secret = null)
    {
        var at = signedAt ?? DateTimeOffset.UtcNow;
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/stripe/webhook")
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Stripe-Signature", StripeEventFactory.Sign(payload, secret ?? webhookSecret, at));
        return http.SendAsync(request);
    }

    public async Task<(HttpResponseMessage Response, JsonElement Body)> StatusAsync(string customerId, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/provisioning/{customerId}");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text));
    }

    /// <summary>An operator request, with the local host's admin key.</summary>
    public async Task<HttpResponseMessage> AdminAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-Admin-Key", LocalHostProcess.AdminKey);
        return await http.SendAsync(request);
    }

    /// <summary>The customer's service as the operator view reports it (running, sleeping, …): asking never wakes it.</summary>
    public async Task<string?> ServiceStateAsync(string customerId)
    {
        using var answer = await AdminAsync(HttpMethod.Get, $"/api/operator/customers/{customerId}");
        return JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("resources").GetProperty("serviceState").GetString();
    }

    public async Task<JsonElement> WaitForStatusAsync(string customerId, string token, string status, TimeSpan timeout)
    {
        JsonElement last = default;
        await Wait.UntilAsync(async () =>
        {
            (_, last) = await StatusAsync(customerId, token);
            var current = last.GetProperty("status").GetString();
            if (current == "failed" && status != "failed")
            {
                throw new InvalidOperationException("Provisioning failed: " + last);
            }

            return current == status;
        }, timeout, $"{customerId} to be {status} (last: {last})");
        return last;
    }
}
