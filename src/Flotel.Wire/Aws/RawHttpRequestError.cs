namespace Flotel.Wire.Aws;

/// <summary>Why a raw HTTP/1.1 request text could not be read (<see cref="RawHttpRequest.Parse"/>).</summary>
internal enum RawHttpRequestError
{
    /// <summary>The text is empty: there is no request line.</summary>
    MissingRequestLine,

    /// <summary>The request line is not <c>METHOD SP target SP HTTP/x.y</c>.</summary>
    MalformedRequestLine,

    /// <summary>A header line has no <c>:</c> or an empty name.</summary>
    MalformedHeader,

    /// <summary>A folded continuation line (leading space or tab) comes before any header.</summary>
    ContinuationWithoutHeader,
}
