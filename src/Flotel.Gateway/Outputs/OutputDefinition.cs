using Flotel.Gateway.Configuration;

namespace Flotel.Gateway.Outputs;

/// <summary>
/// One output type, complete: its <c>type:</c> name, the reader of its options and how to create it. Each output
/// folder declares one (<c>XxxOutput.Definition</c>) and <see cref="OutputRegistry"/> lists them, one line each.
/// </summary>
public sealed class OutputDefinition
{
    private readonly Func<OutputOptions, OutputContext, IGatewayOutput> _create;

    private OutputDefinition(string typeName, Type optionsType, OutputTypes.Reader read, Func<OutputOptions, OutputContext, IGatewayOutput> create)
    {
        TypeName = typeName;
        OptionsType = optionsType;
        Read = read;
        _create = create;
    }

    /// <summary>The <c>type:</c> value.</summary>
    public string TypeName { get; }

    /// <summary>The options class <see cref="Read"/> returns.</summary>
    public Type OptionsType { get; }

    /// <summary>Reads one <c>outputs[]</c> entry of this type.</summary>
    public OutputTypes.Reader Read { get; }

    /// <summary>Defines type <paramref name="typeName"/> with options <typeparamref name="TOptions"/>.</summary>
    /// <param name="typeName">The <c>type:</c> value.</param>
    /// <param name="read">Reads the options (null after an error, reported through the reader).</param>
    /// <param name="create">Creates (does not start) the output.</param>
    public static OutputDefinition Of<TOptions>(string typeName, OutputTypes.Reader read, Func<TOptions, OutputContext, IGatewayOutput> create)
        where TOptions : OutputOptions
    {
        ArgumentException.ThrowIfNullOrEmpty(typeName);
        ArgumentNullException.ThrowIfNull(read);
        ArgumentNullException.ThrowIfNull(create);
        return new OutputDefinition(typeName, typeof(TOptions), read, (options, context) => options is TOptions typed
            ? create(typed, context)
            : throw new ArgumentException($"output type '{typeName}' takes {typeof(TOptions).Name}, not {options.GetType().Name}", nameof(options)));
    }

    /// <summary>
    /// Defines type <paramref name="typeName"/> whose options <typeparamref name="TOptions"/> declare their keys: read by
    /// <see cref="OutputTypes.Declared{TOptions}"/>, tabled in docs/configuration.md from the same declarations.
    /// </summary>
    /// <param name="typeName">The <c>type:</c> value.</param>
    /// <param name="create">Creates (does not start) the output.</param>
    /// <param name="nullAfterError">An entry with an error is left out of the options (<see cref="OutputTypes.Declared{TOptions}"/>).</param>
    public static OutputDefinition Of<TOptions>(string typeName, Func<TOptions, OutputContext, IGatewayOutput> create, bool nullAfterError = false)
        where TOptions : OutputOptions, new()
    {
        var definition = Of(typeName, OutputTypes.Declared<TOptions>(nullAfterError), create);
        definition.DeclaresKeys = true;
        return definition;
    }

    /// <summary>True when <see cref="OptionsType"/> declares its keys (and docs/configuration.md tables them).</summary>
    public bool DeclaresKeys { get; private set; }

    /// <summary>Creates (does not start) the output configured by <paramref name="options"/>.</summary>
    public IGatewayOutput Create(OutputOptions options, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        return _create(options, context);
    }
}
