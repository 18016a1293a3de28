namespace Flotel.Model.Manifests;

/// <summary>Syslog ConfigMap <c>Protocol</c>: Flotta's <c>tcp</c> (default) and <c>udp</c>, plus Flotel's <c>tls</c>.</summary>
public enum SyslogProtocol
{
    Tcp,
    Udp,
    Tls,
}
