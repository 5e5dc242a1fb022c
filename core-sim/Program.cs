using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using Relay.CoreSim;

try
{
    var app = CoreSimHost.Build(args);
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"core-sim: configuration error: {e.Failures.First()}");
    return 2;
}
