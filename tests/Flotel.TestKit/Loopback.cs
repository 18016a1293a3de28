using System.Net;
using System.Net.Sockets;

namespace Flotel.TestKit;

/// <summary>Addresses on 127.0.0.1 for peers a test starts.</summary>
public static class Loopback
{
    /// <summary>A TCP port free a moment ago (the OS picks it), for a peer that must be told its port before it listens.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
