using System.Net;
using System.Net.Sockets;
using Flotel.Gateway.Inputs.Syslog;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Flotel.Gateway.Tests.Inputs;

/// <summary>The listener's list of open connections and its idle sweep (one timer per listener, not one per connection).</summary>
public sealed class SyslogConnectionsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(15);

    [Fact]
    public async Task QuietConnection_IsClosedByTheSweepOnceItWasQuietForTheTimeout_AndCounted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var counter = new MetricsRegistry().Counter("idle_closed_total", "test");
        using var connections = new SyslogConnections(Timeout, time, counter);
        var (server, client) = await SocketPairAsync();
        using var peer = client;
        var connection = new SyslogConnection(server);
        connections.Add(connection);

        connection.Quiet(connections.Now());
        time.Advance(Timeout - TimeSpan.FromMinutes(1));
        Assert.False(connection.WasSwept);
        Assert.Equal(0, counter.Value);

        // The sweep runs every 1/16 of the timeout: by 1 + 1/16 timeouts of quiet the connection is closed.
        time.Advance(TimeSpan.FromMinutes(1) + (Timeout / SyslogConnections.SweepDivisor));
        Assert.True(connection.WasSwept);
        Assert.Equal(1, counter.Value);
        Assert.Throws<ObjectDisposedException>(() => server.Available);
        Assert.False(connection.Wake());
        Assert.Equal(0, connections.Sweep()); // claimed once, counted once
        Assert.Equal(1, counter.Value);
    }

    [Fact]
    public async Task BusyConnection_IsNeverSwept_AndItsIdleClockStartsWhenItWaitsAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var counter = new MetricsRegistry().Counter("idle_closed_total", "test");
        using var connections = new SyslogConnections(Timeout, time, counter);
        var (server, client) = await SocketPairAsync();
        using var peer = client;
        using var socket = server;
        var connection = new SyslogConnection(server);
        connections.Add(connection);

        // Listed but busy (handshake, reading, or waiting for the queue) for hours: never swept.
        time.Advance(TimeSpan.FromHours(3));
        Assert.Equal(0, connections.Sweep());

        // Quiet, then bytes arrive before the timeout: busy again, and the sweep leaves it alone.
        connection.Quiet(connections.Now());
        time.Advance(Timeout - TimeSpan.FromMinutes(1));
        Assert.True(connection.Wake());
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, connections.Sweep());

        // Quiet again: the clock runs from now, not from the first quiet.
        connection.Quiet(connections.Now());
        time.Advance(Timeout - TimeSpan.FromSeconds(1));
        Assert.Equal(0, connections.Sweep());
        Assert.False(connection.WasSwept);
        Assert.Equal(0, counter.Value);
        Assert.Equal(0, server.Available);
    }

    [Fact]
    public async Task IdleTimeoutZero_RunsNoSweep()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var counter = new MetricsRegistry().Counter("idle_closed_total", "test");
        using var connections = new SyslogConnections(TimeSpan.Zero, time, counter);
        var (server, client) = await SocketPairAsync();
        using var peer = client;
        using var socket = server;
        var connection = new SyslogConnection(server);
        connections.Add(connection);
        connection.Quiet(connections.Now());

        time.Advance(TimeSpan.FromDays(30));
        Assert.Equal(0, connections.Sweep());
        Assert.False(connection.WasSwept);
        Assert.Equal(0, counter.Value);
    }

    [Fact]
    public async Task EndedConnection_LeavesTheList_AndIsNotSwept()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var counter = new MetricsRegistry().Counter("idle_closed_total", "test");
        using var connections = new SyslogConnections(Timeout, time, counter);
        var (server, client) = await SocketPairAsync();
        using var peer = client;
        using var socket = server;
        var connection = new SyslogConnection(server);
        connections.Add(connection);
        connection.Quiet(connections.Now());
        Assert.Equal(1, connections.Count);

        connections.Remove(connection);
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, connections.Count);
        Assert.False(connection.WasSwept);
        Assert.Equal(0, counter.Value);
    }

    private static async Task<(Socket Server, Socket Client)> SocketPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await listener.AcceptAsync();
        return (server, client);
    }
}
