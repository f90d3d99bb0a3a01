using System.Net;
using System.Net.Sockets;

namespace SetupClaw.Providers.Local;

public static class LoopbackPorts
{
    /// <summary>A port the OS says is free on 127.0.0.1 right now (released before it is returned, so it can race).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
