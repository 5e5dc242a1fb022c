using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;
using Relay.CoreSim;

// `dotnet Relay.CoreSim.dll keygen` (or --keygen): prints one fresh backhaul key for CoreSim:RelayKeys:<relayId> and
// the relay's Gateway:Backhaul:SharedKey.
if (args is ["keygen"] or ["--keygen"])
{
    Console.WriteLine(Relay.Tunnel.Links.LinkKey.Generate());
    return 0;
}

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
