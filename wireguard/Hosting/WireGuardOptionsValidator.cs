using Microsoft.Extensions.Options;

namespace Relay.WireGuard.Hosting;

/// <summary>Checks the tunnel options at start; a failure is one line naming the key under <paramref name="section"/>.</summary>
internal sealed class WireGuardOptionsValidator(string section) : IValidateOptions<WireGuardOptions>
{
    public ValidateOptionsResult Validate(string? name, WireGuardOptions options) =>
        options.Validate(section) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
}
