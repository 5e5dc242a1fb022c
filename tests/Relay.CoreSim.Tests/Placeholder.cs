namespace Relay.CoreSim.Tests; public class SmokeTests { }
