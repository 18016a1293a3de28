namespace Flotel.Wire.RemoteWrite;

/// <summary>Where one label's name and value bytes sit in the decoded request buffer (no copy, no string).</summary>
internal readonly struct LabelRef(int nameStart, int nameLength, int valueStart, int valueLength)
{
    public readonly int NameStart = nameStart;
    public readonly int NameLength = nameLength;
    public readonly int ValueStart = valueStart;
    public readonly int ValueLength = valueLength;
}
