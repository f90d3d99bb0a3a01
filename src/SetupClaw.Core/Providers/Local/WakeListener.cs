using System.Net;
using System.Net.Sockets;

namespace SetupClaw.Providers.Local;

/// <summary>
/// A sleeping local runtime's port: what Railway's proxy does for a sleeping service. The first connection wakes the
/// runtime (the listener lets go of the port, the runtime starts on it) and is then forwarded to it; later ones go to
/// the runtime directly. A connection that arrives during the wake (about a second) is refused.
/// </summary>
internal sealed class WakeListener : IAsyncDisposable
{
    private readonly TcpListener listener;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task loop;

    public WakeListener(int port, string deploymentId, Func<Task> wake)
    {
        DeploymentId = deploymentId;
        listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        loop = RunAsync(port, wake);
    }

    /// <summary>The deployment that sleeps here (the one its wake starts again).</summary>
    public string DeploymentId { get; }

    private async Task RunAsync(int port, Func<Task> wake)
    {
        TcpClient first;
        try
        {
            first = await listener.AcceptTcpClientAsync(stopping.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            return;
        }

        listener.Stop();
        using (first)
        {
            try
            {
                await wake();
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, port, stopping.Token);
                var inbound = first.GetStream();
                var outbound = upstream.GetStream();
                await Task.WhenAny(inbound.CopyToAsync(outbound, stopping.Token), outbound.CopyToAsync(inbound, stopping.Token));
            }
            catch (Exception)
            {
                // The runtime did not come up, or a side hung up: the client sees its connection closed.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await loop.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        stopping.Dispose();
    }
}
