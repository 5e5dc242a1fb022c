using Microsoft.Extensions.Options;

namespace Relay.CoreSim;

/// <summary>Validates <see cref="CoreSimOptions"/> at start with one line naming the bad setting.</summary>
internal sealed class CoreSimOptionsValidator : IValidateOptions<CoreSimOptions>
{
    public ValidateOptionsResult Validate(string? name, CoreSimOptions options) =>
        options.Validate() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
}
