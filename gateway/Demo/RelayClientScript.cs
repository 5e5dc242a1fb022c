namespace Relay.Gateway.Demo;

/// <summary>The JS SDK's classic-script build (clients/js/relay-client.global.js), embedded as a resource.</summary>
internal static class RelayClientScript
{
    private static readonly Lazy<string> s_global = new(() =>
    {
        using var stream = typeof(RelayClientScript).Assembly.GetManifestResourceStream("relay-client.global.js")
            ?? throw new InvalidOperationException("relay-client.global.js is not embedded in the gateway");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string Global => s_global.Value;
}
