using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Flotel.Gateway.Hosting;
using Flotel.Gateway.Inputs.Syslog;
using Flotel.Gateway.Tests.Outputs;
using Flotel.Gateway.Tests.TestKit;
using Flotel.Pipeline.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;

namespace Flotel.Gateway.Tests.Inputs;

/// <summary>An idle syslog TLS connection must not keep OpenSSL's record buffers (docs/benchmarks.md "Idle syslog connections").</summary>
public sealed class SyslogTlsIdleBuffersTests
{
    private const long ReleaseBuffers = 0x10; // SSL_MODE_RELEASE_BUFFERS

    [Fact]
    public async Task TlsConnection_LetsOpenSslFreeItsRecordBuffersWhileIdle()
    {
        var sink = new ListSink();
        var caFile = Path.GetTempFileName();
        try
        {
            using var certificate = TestCertificates.CreateServerCertificate(caFile);
            SslStream? served = null;
            var options = new SslServerAuthenticationOptions
            {
                // The listener's side of the connection is the sender of the certificate selection.
                ServerCertificateSelectionCallback = (sender, _) =>
                {
                    served = (SslStream)sender;
                    return certificate;
                },
            };
            await using var input = new SyslogTcpInput(
                new IPEndPoint(IPAddress.Loopback, 0), options, 4096, sink, new SyslogInputCounters(new MetricsRegistry(), "tls"),
                TimeProvider.System, NullLogger.Instance);
            input.Start();

            using var tcp = new TcpClient();
            await tcp.ConnectAsync(input.LocalEndPoint);
            var pinned = certificate.Thumbprint;
            using var ssl = new SslStream(
                tcp.GetStream(),
                leaveInnerStreamOpen: true,
                (_, presented, _, _) => string.Equals(presented?.GetCertHashString(), pinned, StringComparison.OrdinalIgnoreCase));
            await ssl.AuthenticateAsClientAsync("127.0.0.1");
            await ssl.WriteAsync("a line, then silence\n"u8.ToArray());
            await Eventually.TrueAsync(() => sink.Frames().Count == 1, "the line");

            Assert.NotNull(served);
            Assert.Equal(ReleaseBuffers, OpenSslIdleBuffers.Mode(served)!.Value & ReleaseBuffers);
        }
        finally
        {
            File.Delete(caFile);
        }
    }
}
