using Microsoft.Extensions.Options;
using Relay.Contracts.Regions;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Fleet;

/// <summary>The regions file (<see cref="CoreSimOptions.RegionsFile"/>), read once at start (the validator has checked it); null without one.</summary>
internal sealed class FleetRegions(IOptions<CoreSimOptions> options)
{
    private readonly RegionsFile? _file = string.IsNullOrEmpty(options.Value.RegionsFile) ? null : RegionsFile.Load(options.Value.RegionsFile);

    public RegionsFile? File => _file;
}
