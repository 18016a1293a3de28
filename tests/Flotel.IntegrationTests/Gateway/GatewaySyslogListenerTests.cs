using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Flotel.Gateway.Configuration;

namespace Flotel.IntegrationTests.Gateway;

/// <summary>With syslog over TLS configured, plain TCP and UDP can be switched off, so TLS cannot be sidestepped.</summary>
[Collection(PeerCollection.Name)]
public sealed class GatewaySyslogListenerTests
{
    [Fact]
    public async Task TcpAndUdpOff_OnlyTheTlsListenerIsBound_AndItStoresLines()
    {
        var dir = PeerProcess.CreateTempDirectory("syslog-tls");
        try
        {
            var (certificate, key, thumbprint) = SyslogTlsClient.WriteServerCertificate(dir);
            var plainPort = Loopback.FreePort();
            await using var gateway = await InProcessGateway.StartAsync(o =>
            {
                o.SyslogAddress = "127.0.0.1:" + plainPort;
                o.SyslogTcp = false;
                o.SyslogUdp = false;
                o.SyslogTlsAddress = "127.0.0.1:0";
                o.SyslogTls = new TlsOptions { CertificateFile = certificate, KeyFile = key };
            });

            Assert.Equal(0, gateway.Host.SyslogEndPoint.Port);
            Assert.NotNull(gateway.Host.SyslogTlsEndPoint);

            // Nothing holds the plain port: this test can bind it itself, over TCP and over UDP.
            using (var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, plainPort));
            }

            using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
            {
                udp.Bind(new IPEndPoint(IPAddress.Loopback, plainPort));
            }

            var token = "overtls" + Guid.NewGuid().ToString("N")[..8];
            using (var client = new TcpClient())
            {
                await client.ConnectAsync(gateway.Host.SyslogTlsEndPoint!);
                using var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, presented, _, _) => presented?.GetCertHashString() == thumbprint);
                await ssl.AuthenticateAsClientAsync("127.0.0.1");
                await ssl.WriteAsync(Encoding.UTF8.GetBytes($"<14>1 2026-12-06T10:00:00Z edge-device-1 app - - - {token}\n"));
                await ssl.FlushAsync();
            }

            Assert.True(
                await Eventually.PollAsync(async () => await GatewayTestKit.CountAsync(gateway.Http, "_all", $"{{\"query\":{{\"match\":{{\"message\":\"{token}\"}}}}}}") == 1, TimeSpan.FromSeconds(30)),
                "the line sent over TLS was not stored");
        }
        finally
        {
            GatewayTestKit.DeleteDirectory(dir);
        }
    }
}
