namespace Flotel.Wire.Exposition;

/// <summary>Counts of one parse: lines read, samples delivered, lines rejected.</summary>
/// <param name="Lines">Lines read (blank and comment lines included).</param>
/// <param name="Samples">Sample lines delivered to the visitor.</param>
/// <param name="Errors">Lines rejected.</param>
public readonly record struct ExpositionStats(int Lines, int Samples, int Errors);
