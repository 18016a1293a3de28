using System.CommandLine;

namespace Flotel.Cli.Commands;

/// <summary><c>flotel check</c>: load and validate, never start anything (architecture §3).</summary>
internal static class CheckCommand
{
    /// <param name="checkConfig">
    /// Validates a gateway configuration file (<c>CheckConfig.Run</c> in the full build); null in the device build, which has no
    /// gateway: there <c>check</c> takes only <c>--manifests</c>.
    /// </param>
    public static Command Create(Func<FileInfo, TextWriter, int>? checkConfig)
    {
        var manifests = CommonOptions.Manifests("Flotta manifests to validate; prints what the device will do", required: checkConfig is null);
        var config = new Option<FileInfo>("--config")
        {
            Description = "Gateway configuration file to validate",
            HelpName = "FILE",
        };
        var device = new Option<string>("--device")
        {
            Description = "With --manifests: the EdgeDevice to plan for [default: the only one]",
            HelpName = "NAME",
        };
        var command = new Command(
            "check",
            checkConfig is null ? "Validate manifests; prints one line per problem" : "Validate manifests or a gateway configuration; prints one line per problem")
        {
            manifests, device,
        };
        if (checkConfig is not null)
        {
            command.Options.Add(config);
            command.Validators.Add(result =>
            {
                var hasManifests = result.GetResult(manifests) is not null;
                var hasConfig = result.GetResult(config) is not null;
                if (hasManifests == hasConfig)
                {
                    result.AddError("check needs exactly one of --manifests DIR or --config FILE");
                }
            });
        }

        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var dir = parse.GetValue(manifests);
            if (dir is not null)
            {
                return CheckManifests.Run(dir, parse.GetValue(device), output, error);
            }

            return checkConfig!(parse.GetRequiredValue(config), output);
        });
        return command;
    }
}
