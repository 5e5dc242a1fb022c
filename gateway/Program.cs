using Microsoft.Extensions.Options;
using Relay.Gateway;

// Issue 21: socket completions run on the runtime's epoll threads (one per core) instead of being handed to the thread
// pool, and Kestrel runs its connections inline on them (Gateway:KestrelInlineScheduling, on by default): one thread
// hop fewer per message each way. Measured on 2 quiet cores, 200 sessions in ping-pong, three pairs of fresh gateways:
// 21.1 -> 16.5 µs of gateway CPU per echoed message (median), 28.6k-44.8k -> 41.8k-44.6k msg/s (bench/README.md).
// Read by the runtime once, when the first socket is made, so it is set here, before anything else; an operator's own
// value (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0) wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

if (GatewayVersion.Answer(args) is { } answer)
{
    Console.WriteLine(answer);
    return 0;
}

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
