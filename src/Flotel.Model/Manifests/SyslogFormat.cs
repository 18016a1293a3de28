namespace Flotel.Model.Manifests;

/// <summary>
/// Syslog ConfigMap <c>Format</c> (Flotel key). <c>flotta</c> (default): Flotta's LF-framed
/// <c>&lt;6&gt;RFC3339 host tag[pid]: msg</c> line (docs/reference/flotta-device-worker.md §3.6). <c>rfc5424</c>: RFC 5424, octet-counted
/// on TCP/TLS (RFC 6587 §3.4.1).
/// </summary>
public enum SyslogFormat
{
    Flotta,
    Rfc5424,
}
