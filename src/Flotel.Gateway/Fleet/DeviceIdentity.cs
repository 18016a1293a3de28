namespace Flotel.Gateway.Fleet;

/// <summary>
/// Who a verified device certificate names: the device (the certificate's CN), its serial (lower-case hex), its expiry,
/// and whether it has expired (only <c>/fleet/v1/renew</c> accepts that, within <c>fleet.renewGraceDays</c>).
/// </summary>
public sealed record DeviceIdentity(string Device, string Serial, DateTimeOffset NotAfter, bool Expired);
