using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Flotel.Gateway.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.Hosting;

/// <summary>
/// <see cref="OpenSslIdleBuffers"/> reaches a live connection's <c>SSL*</c> through a private field of the runtime's
/// SslStream: these fail on a runtime where that way is gone, so the fleet listener's memory per device does not grow
/// back unnoticed.
/// </summary>
public sealed class OpenSslIdleBuffersTests
{
    private const long ReleaseBuffers = 0x10; // SSL_MODE_RELEASE_BUFFERS

    [Fact]
    public async Task Release_SetsTheModeOnTheConnection_WhichTheRuntimeDoesNotSetItself()
    {
        await using var pair = await TlsPair.ConnectAsync();

        var before = OpenSslIdleBuffers.Mode(pair.Server);
        var after = OpenSslIdleBuffers.Release(pair.Server);

        Assert.NotNull(before);
        Assert.Equal(0, before.Value & ReleaseBuffers);
        Assert.Equal(ReleaseBuffers, after!.Value & ReleaseBuffers);
        Assert.Equal(after, OpenSslIdleBuffers.Mode(pair.Server));
    }

    [Fact]
    public async Task AfterRelease_RecordsOfEverySizeStillFlowBothWays()
    {
        await using var pair = await TlsPair.ConnectAsync();
        Assert.NotNull(OpenSslIdleBuffers.Release(pair.Server));

        // Small and larger-than-one-record messages, with idle moments between them (buffers freed and taken again).
        foreach (var size in (int[])[1, 100, 16 * 1024, 40_000, 3])
        {
            var message = RandomNumberGenerator.GetBytes(size);
            await pair.Client.WriteAsync(message);
            Assert.Equal(message, await ReadExactlyAsync(pair.Server, size));
            await pair.Server.WriteAsync(message);
            Assert.Equal(message, await ReadExactlyAsync(pair.Client, size));
        }
    }

    [Fact]
    public async Task TheMiddleware_SetsTheModeOnATlsConnection_AndCallsTheNextStep()
    {
        await using var pair = await TlsPair.ConnectAsync();
        var connection = new DefaultConnectionContext("test");
        connection.Features.Set<ISslStreamFeature>(new SslStreamFeature(pair.Server));
        var called = false;

        await OpenSslIdleBuffers.Middleware(NullLogger.Instance)(_ =>
        {
            called = true;
            return Task.CompletedTask;
        })(connection);

        Assert.True(called);
        Assert.Equal(ReleaseBuffers, OpenSslIdleBuffers.Mode(pair.Server)!.Value & ReleaseBuffers);
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer);
        return buffer;
    }

    private sealed class SslStreamFeature(SslStream stream) : ISslStreamFeature
    {
        public SslStream SslStream { get; } = stream;
    }

    /// <summary>A server and a client SslStream over one loopback TCP connection, handshake done.</summary>
    private sealed class TlsPair : IAsyncDisposable
    {
        private readonly X509Certificate2 _certificate;

        private TlsPair(SslStream server, SslStream client, X509Certificate2 certificate)
        {
            Server = server;
            Client = client;
            _certificate = certificate;
        }

        public SslStream Server { get; }

        public SslStream Client { get; }

        public static async Task<TlsPair> ConnectAsync()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
            using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);

            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var client = new TcpClient();
            var connect = client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var accepted = await listener.AcceptTcpClientAsync();
            await connect;

            var server = new SslStream(accepted.GetStream(), leaveInnerStreamOpen: false);
            var thumbprint = certificate.GetCertHashString();
            var tlsClient = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) =>
                presented is not null && presented.GetCertHashString() == thumbprint);
            await Task.WhenAll(
                server.AuthenticateAsServerAsync(certificate),
                tlsClient.AuthenticateAsClientAsync("127.0.0.1"));
            return new TlsPair(server, tlsClient, certificate);
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            _certificate.Dispose();
        }
    }
}
