namespace Relay.Client; internal static class Placeholder;
