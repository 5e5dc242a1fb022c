using Microsoft.Extensions.Options;
using Relay.Gateway;

try
{
    var app = GatewayHost.Build(args, systemConfigPath: GatewayConfiguration.SystemConfigPath);
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    Console.Error.WriteLine($"gateway: configuration error: {ex.Failures.First()}");
    return 2;
}
