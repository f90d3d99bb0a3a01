using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using SetupClaw.Customers;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// Step 6: <c>GET {accessUrl}/health</c> answers 200, names this customer's workspace and runs the plan recorded
/// for the customer (after a plan change, the redeployed runtime must report the new one).
/// </summary>
public sealed class HealthCheckActivity(
    ICustomerStore store, IHttpClientFactory httpClients, IOptions<ProvisioningOptions> options, TimeProvider clock, Telemetry.SetupClawMetrics metrics) : StepActivity<bool>(store, metrics)
{
    public const string HttpClientName = "health";

    protected override string Step => Steps.HealthCheck;

    protected override async Task<bool> ExecuteAsync(string customerId, CancellationToken cancellationToken)
    {
        var customer = await GetCustomerAsync(customerId, cancellationToken);
        var url = new Uri(new Uri(customer.AccessUrl ?? throw new PermanentProvisioningException("No access URL was recorded.")), "/health");
        var client = httpClients.CreateClient(HttpClientName);
        var deadline = clock.GetUtcNow() + options.Value.HealthCheckTimeout;
        var lastProblem = "no answer yet";
        while (clock.GetUtcNow() < deadline)
        {
            try
            {
                using var response = await client.GetAsync(url, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    var health = await response.Content.ReadFromJsonAsync<HealthAnswer>(cancellationToken);
                    if (health is null || health.WorkspaceId != customer.WorkspaceId)
                    {
                        lastProblem = $"it names workspace '{health?.WorkspaceId}', not {customer.WorkspaceId}";
                    }
                    else if (health.Plan is not null && health.Plan != customer.Plan)
                    {
                        lastProblem = $"it runs the {health.Plan} plan, not {customer.Plan}";
                    }
                    else
                    {
                        return true;
                    }
                }
                else
                {
                    lastProblem = $"HTTP {(int)response.StatusCode}";
                }
            }
            catch (HttpRequestException e)
            {
                lastProblem = e.Message;
            }
            catch (TaskCanceledException)
            {
                lastProblem = "the request timed out";
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), clock, cancellationToken);
        }

        throw new PermanentProvisioningException(
            $"The assistant at {customer.AccessUrl} did not become healthy within {options.Value.HealthCheckTimeout.TotalSeconds:0} s: {lastProblem}.");
    }

    private sealed record HealthAnswer(string? Status, string? WorkspaceId, string? Database, string? Plan);
}
