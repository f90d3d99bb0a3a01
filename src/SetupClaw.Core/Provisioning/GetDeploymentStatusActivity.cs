using Microsoft.DurableTask;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// One look at a deployment's state; the orchestrator decides when to look again. Where the provider counts API calls
/// (<see cref="IComputeProvider.DeploymentWatchWindow"/>), the look first watches the service's own <c>/health</c>
/// for up to that window: a first deployment that answers there is live (the provider routes to it only once it is
/// healthy), and the provider is asked only when it has not answered by then.
/// </summary>
public sealed class GetDeploymentStatusActivity(IComputeProvider compute, DeploymentWatch watch) : TaskActivity<DeploymentRef, DeploymentState>
{
    public override async Task<DeploymentState> RunAsync(TaskActivityContext context, DeploymentRef input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var window = compute.DeploymentWatchWindow;
        if (window > TimeSpan.Zero && await watch.AnswersAsync(input.WatchUrl, window, CancellationToken.None))
        {
            return new DeploymentState(DeploymentPhase.Succeeded);
        }

        return await compute.GetDeploymentAsync(input.ServiceId, input.DeploymentId, CancellationToken.None);
    }
}

/// <summary>Watches a service's public <c>/health</c> (a free call, unlike the provider's API) until it answers 200.</summary>
public sealed class DeploymentWatch(IHttpClientFactory httpClients, TimeProvider clock)
{
    /// <summary>
    /// True as soon as <c>{accessUrl}/health</c> answers 200; false when it has not within <paramref name="window"/>.
    /// Without an address (a redeploy, where the previous deployment still answers) it only waits out the window.
    /// </summary>
    public async Task<bool> AnswersAsync(string? accessUrl, TimeSpan window, CancellationToken cancellationToken)
    {
        var deadline = clock.GetUtcNow() + window;
        if (accessUrl is null)
        {
            await Task.Delay(window, clock, cancellationToken);
            return false;
        }

        var client = httpClients.CreateClient(HealthCheckActivity.HttpClientName);
        var url = new Uri(new Uri(accessUrl), "/health");
        while (clock.GetUtcNow() < deadline)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(2));
                using var response = await client.GetAsync(url, attempt.Token);
                if (response.IsSuccessStatusCode)
                {
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                // Not routable yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // That attempt timed out.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), clock, cancellationToken);
        }

        return false;
    }
}
