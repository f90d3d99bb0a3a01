using Microsoft.DurableTask;
using SetupClaw.Providers;

namespace SetupClaw.Provisioning;

/// <summary>
/// One look at a deployment's state; the orchestrator decides when to look again. A first deployment on a provider
/// that counts API calls is looked at where it will answer (one <c>GET {accessUrl}/health</c>: Railway routes to a
/// deployment only once it is healthy and its domain is ready, so an answer means it is live), and the provider is
/// asked only on the looks the wait marks (<see cref="DeploymentRef.AskProvider"/>, every
/// <c>Providers:Railway:DeploymentWatchSeconds</c>). Each look is short: no activity slot is held while a deployment builds.
/// </summary>
public sealed class GetDeploymentStatusActivity(IComputeProvider compute, DeploymentWatch watch) : TaskActivity<DeploymentRef, DeploymentState>
{
    public override async Task<DeploymentState> RunAsync(TaskActivityContext context, DeploymentRef input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.WatchUrl is { } url && await watch.AnswersOnceAsync(url, CancellationToken.None))
        {
            // Confirmed once with the provider: an answer may come from an older deployment of an adopted service.
            var confirmed = await compute.GetDeploymentAsync(input.ServiceId, input.DeploymentId, CancellationToken.None);
            return confirmed.Phase == DeploymentPhase.InProgress ? confirmed with { Answered = true } : confirmed;
        }

        return input.AskProvider
            ? await compute.GetDeploymentAsync(input.ServiceId, input.DeploymentId, CancellationToken.None)
            : new DeploymentState(DeploymentPhase.InProgress);
    }
}

/// <summary>Watches a service's public <c>/health</c> (a free call, unlike the provider's API) until it answers 200.</summary>
public sealed class DeploymentWatch(IHttpClientFactory httpClients, TimeProvider clock)
{
    /// <summary>One look: whether <c>{accessUrl}/health</c> answers 200 now (2 s at most).</summary>
    public async Task<bool> AnswersOnceAsync(string accessUrl, CancellationToken cancellationToken)
    {
        try
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(TimeSpan.FromSeconds(2));
            using var response = await httpClients.CreateClient(HealthCheckActivity.HttpClientName).GetAsync(new Uri(new Uri(accessUrl), "/health"), attempt.Token);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false; // not routable yet
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false; // that look timed out
        }
    }

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

        while (clock.GetUtcNow() < deadline)
        {
            if (await AnswersOnceAsync(accessUrl, cancellationToken))
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), clock, cancellationToken);
        }

        return false;
    }
}
