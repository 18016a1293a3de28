using System.Globalization;

namespace Flotel.Gateway.Fleet;

/// <summary>
/// How many of the affected devices a staged rollout (docs/fleet.md §3.1) sends the change to first: a percentage
/// (<c>10%</c>, rounded up) or a count (<c>3</c>); at least one device and at most all of them.
/// </summary>
public readonly record struct CanarySize(int Value, bool Percent)
{
    /// <summary>Largest count accepted: no fleet holds more devices than objects.</summary>
    public const int MaxCount = FleetService.MaxObjects;

    /// <summary><c>N%</c> (1–100) or <c>N</c> (1–<see cref="MaxCount"/>); null with the reason otherwise.</summary>
    public static CanarySize? Parse(string? text, out string? error)
    {
        error = null;
        var s = text?.Trim() ?? string.Empty;
        var percent = s.EndsWith('%');
        var digits = percent ? s[..^1] : s;
        if (digits.Length is > 0 and <= 6 && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            && n >= 1 && n <= (percent ? 100 : MaxCount))
        {
            return new CanarySize(n, percent);
        }

        var shown = text is { Length: > 32 } ? text[..32] + "…" : text; // the text is the client's: echo a bounded part
        error = string.Create(CultureInfo.InvariantCulture,
            $"canary '{shown}' must be a percentage from 1% to 100% or a device count from 1 to {MaxCount}");
        return null;
    }

    /// <summary>How many of <paramref name="affected"/> devices are canaries: the percentage rounded up, at least 1, at most all.</summary>
    public int Of(int affected)
    {
        if (affected <= 0)
        {
            return 0;
        }

        var wanted = Percent ? (int)(((long)affected * Value + 99) / 100) : Value;
        return Math.Clamp(wanted, 1, affected);
    }

    /// <summary>As the operator wrote it: <c>10%</c> or <c>3</c>.</summary>
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture) + (Percent ? "%" : string.Empty);
}
