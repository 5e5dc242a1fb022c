namespace Relay.Gateway.Tests; public class SmokeTests { }
