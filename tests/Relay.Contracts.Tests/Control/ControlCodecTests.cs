using System.Text;
using System.Text.Json;
using Relay.Contracts.Control;

namespace Relay.Contracts.Tests.Control;

/// <summary>The control plane's one codec: what gateway encodes core-sim decodes, and the other way, with the wire names the dashboard reads.</summary>
[TestFixture]
public sealed class ControlCodecTests
{
    private static readonly DateTimeOffset s_since = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    [Test]
    public void Report_RoundTrips()
    {
        var report = Report();

        Assert.That(ControlCodec.TryDecodeReport(ControlCodec.EncodeReport(report), out var decoded), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(decoded!.RelayId, Is.EqualTo("relay-eu-1"));
            Assert.That(decoded.Region, Is.EqualTo("eu"));
            Assert.That(decoded.State, Is.EqualTo(RelayStatus.Draining));
            Assert.That(decoded.Health, Is.EqualTo(RelayStatus.Sick));
            Assert.That(decoded.Reasons, Is.EqualTo(new[] { "backhaul lost: no link to the core is up" }));
            Assert.That(decoded.Weight, Is.EqualTo(40));
            Assert.That(decoded.Since, Is.EqualTo(s_since));
            Assert.That(decoded.Sessions, Is.EqualTo(1234));
            Assert.That(decoded.Drain, Is.EqualTo(report.Drain));
            Assert.That(decoded.Signals.Keys, Is.EquivalentTo(new[] { "backhaul", "sessions" }));
            Assert.That(decoded.Signals["backhaul"].Level, Is.EqualTo(RelayStatus.Sick));
            Assert.That(decoded.Signals["backhaul"].Reason, Is.EqualTo("backhaul lost: no link to the core is up"));
            Assert.That(decoded.Signals["sessions"].Reason, Is.Null);
        });
    }

    [Test]
    public void Report_SignalValuesOfEveryTypeTheGatewayUses_RoundTripAsJson()
    {
        Assert.That(ControlCodec.TryDecodeReport(ControlCodec.EncodeReport(Report()), out var decoded), Is.True);
        var values = decoded!.Signals["backhaul"].Values;

        Assert.Multiple(() =>
        {
            Assert.That(((JsonElement)values["linksUp"]!).GetInt32(), Is.EqualTo(0));
            Assert.That(((JsonElement)values["reattaches"]!).GetInt64(), Is.EqualTo(5_000_000_000L));
            Assert.That(((JsonElement)values["rttMs"]!).GetDouble(), Is.EqualTo(12.5));
            Assert.That(((JsonElement)values["mode"]!).GetString(), Is.EqualTo("userspace"));
            Assert.That(((JsonElement)values["up"]!).GetBoolean(), Is.False);
            Assert.That(values["lastHandshakeAgeSeconds"], Is.Null);
            Assert.That(((JsonElement)values["closesByCode"]!).GetProperty("1013").GetInt64(), Is.EqualTo(3));
        });
    }

    [Test]
    public void Report_WireNames_AreWhatCoreSimAndTheDashboardRead()
    {
        using var doc = JsonDocument.Parse(ControlCodec.EncodeReport(Report()));
        var root = doc.RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("relayId").GetString(), Is.EqualTo("relay-eu-1"));
            Assert.That(root.GetProperty("state").GetString(), Is.EqualTo("draining"));
            Assert.That(root.GetProperty("health").GetString(), Is.EqualTo("sick"));
            Assert.That(root.GetProperty("sessions").GetInt64(), Is.EqualTo(1234));
            Assert.That(root.GetProperty("drain").GetProperty("sessionsLeft").GetInt32(), Is.EqualTo(34));
            Assert.That(root.GetProperty("signals").GetProperty("sessions").GetProperty("values").GetProperty("sessions").GetInt64(), Is.EqualTo(1234));
            Assert.That(root.GetProperty("signals").GetProperty("backhaul").GetProperty("level").GetString(), Is.EqualTo("sick"));
        });
    }

    [Test]
    public void FleetView_WireTextAndRoundTrip()
    {
        var view = new FleetView(new Dictionary<string, RelayStatus> { ["relay-a"] = RelayStatus.Healthy, ["relay-b"] = RelayStatus.Unreachable, ["relay-c"] = RelayStatus.Unknown });

        var encoded = ControlCodec.Encode(view);

        Assert.That(encoded.Name, Is.EqualTo("fleet"));
        Assert.That(Encoding.UTF8.GetString(encoded.Payload), Is.EqualTo("""{"relays":{"relay-a":"healthy","relay-b":"unreachable","relay-c":"unknown"}}"""));
        Assert.That(ControlCodec.TryDecode(encoded.Name, encoded.Payload, out var decoded), Is.True);
        Assert.That(((FleetView)decoded!).Relays, Is.EquivalentTo(view.Relays));
    }

    [TestCase("/assets/", null)]
    [TestCase(null, "widget")]
    public void CachePurgeOrder_RoundTrips(string? prefix, string? tag)
    {
        var encoded = ControlCodec.Encode(new CachePurgeOrder(prefix, tag));

        Assert.That(encoded.Name, Is.EqualTo("cache-purge"));
        Assert.That(ControlCodec.TryDecode(encoded.Name, encoded.Payload, out var decoded), Is.True);
        Assert.That(decoded, Is.EqualTo(new CachePurgeOrder(prefix, tag)));
    }

    [TestCase("""{"prefix":null,"tag":null}""")]
    [TestCase("""{"prefix":"/a/","tag":"t"}""")]
    [TestCase("""{"prefix":"assets","tag":null}""")]
    [TestCase("""{"prefix":null,"tag":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}""")]
    [TestCase("""not json""")]
    public void CachePurgeOrder_NotOnePrefixOrTag_DoesNotDecode(string payload)
    {
        Assert.That(ControlCodec.TryDecode("cache-purge", Encoding.UTF8.GetBytes(payload), out _), Is.False);
    }

    [Test]
    public void FleetView_WithDetailsAndRegions_RoundTrips()
    {
        var view = new FleetView(
            new Dictionary<string, RelayStatus> { ["sg-1"] = RelayStatus.Healthy },
            [new FleetRelay("sg-1", "sg", "ws://10.71.0.2:8080/ws", 90, 12, RelayStatus.Healthy), new FleetRelay("x", "us", null, 10, 0, RelayStatus.Degraded)],
            [new RegionRoute("sg", ["10.71.1.0/24"], ["us"])]);

        var encoded = ControlCodec.Encode(view);

        Assert.That(ControlCodec.TryDecode(encoded.Name, encoded.Payload, out var decoded), Is.True);
        var fleet = (FleetView)decoded!;
        Assert.Multiple(() =>
        {
            Assert.That(fleet.Details, Is.EqualTo(view.Details));
            Assert.That(fleet.Regions!.Single().Name, Is.EqualTo("sg"));
            Assert.That(fleet.Regions!.Single().Subnets, Is.EqualTo(new[] { "10.71.1.0/24" }));
            Assert.That(fleet.Regions!.Single().Fallback, Is.EqualTo(new[] { "us" }));
            Assert.That(Encoding.UTF8.GetString(encoded.Payload), Does.Contain("\"details\":[{\"id\":\"sg-1\",\"region\":\"sg\",\"url\":\"ws://10.71.0.2:8080/ws\",\"weight\":90,\"sessions\":12,\"state\":\"healthy\"}"));
        });
    }

    [Test]
    public void FleetView_WithDetails_DecodesInAPeerThatKnowsOnlyRelays()
    {
        var encoded = ControlCodec.Encode(new FleetView(
            new Dictionary<string, RelayStatus> { ["sg-1"] = RelayStatus.Draining },
            [new FleetRelay("sg-1", "sg", "ws://10.71.0.2:8080/ws", 90, 12, RelayStatus.Draining)],
            [new RegionRoute("sg", ["10.71.1.0/24"], [])]));

        var old = JsonSerializer.Deserialize<OldFleetView>(encoded.Payload, new JsonSerializerOptions(JsonSerializerDefaults.Web) { RespectRequiredConstructorParameters = true, RespectNullableAnnotations = true });

        Assert.That(old!.Relays["sg-1"], Is.EqualTo(RelayStatus.Draining));
    }

    [Test]
    public void FleetView_FromAnOlderCore_DecodesWithoutDetails()
    {
        Assert.That(ControlCodec.TryDecode("fleet", """{"relays":{"a":"healthy"}}"""u8, out var decoded), Is.True);
        Assert.That(((FleetView)decoded!).Details, Is.Null);
    }

    /// <summary>The fleet view as a relay before issue 17 declared it.</summary>
    private sealed record OldFleetView(IReadOnlyDictionary<string, RelayStatus> Relays);

    [TestCase(DrainOrderSource.Operator, """{"source":"operator"}""")]
    [TestCase(DrainOrderSource.Force, """{"source":"force"}""")]
    [TestCase(DrainOrderSource.Policy, """{"source":"policy"}""")]
    public void DrainOrder_WireTextAndRoundTrip(DrainOrderSource source, string wire)
    {
        var encoded = ControlCodec.Encode(new DrainOrder(source));

        Assert.That(encoded.Name, Is.EqualTo("drain"));
        Assert.That(Encoding.UTF8.GetString(encoded.Payload), Is.EqualTo(wire));
        Assert.That(ControlCodec.TryDecode(encoded.Name, encoded.Payload, out var decoded), Is.True);
        Assert.That(decoded, Is.EqualTo(new DrainOrder(source)));
    }

    [Test]
    public void UndrainOrder_RoundTrips()
    {
        var encoded = ControlCodec.Encode(new UndrainOrder());

        Assert.That(encoded.Name, Is.EqualTo("undrain"));
        Assert.That(ControlCodec.TryDecode(encoded.Name, encoded.Payload, out var decoded), Is.True);
        Assert.That(decoded, Is.EqualTo(new UndrainOrder()));
    }

    [Test]
    public void RebalanceOrder_WireTextAndRoundTrip()
    {
        var encoded = ControlCodec.Encode(new RebalanceOrder("sg"));

        Assert.That(encoded.Name, Is.EqualTo("rebalance"));
        Assert.That(Encoding.UTF8.GetString(encoded.Payload), Is.EqualTo("""{"region":"sg"}"""));
        Assert.That(ControlCodec.TryDecode(encoded.Name, encoded.Payload, out var decoded), Is.True);
        Assert.That(decoded, Is.EqualTo(new RebalanceOrder("sg")));
    }

    [Test]
    public void RebalanceOrder_WithAFieldFromANewerCore_StillDecodes()
    {
        Assert.That(ControlCodec.TryDecode("rebalance", """{"region":"syd","batch":50}"""u8, out var decoded), Is.True);
        Assert.That(decoded, Is.EqualTo(new RebalanceOrder("syd")));
    }

    [TestCase("drain", "")]
    [TestCase("drain", "policy")]
    [TestCase("drain", "{}")]
    [TestCase("drain", """{"source":"sideways"}""")]
    [TestCase("fleet", """{"relays":null}""")]
    [TestCase("fleet", """{"relays":{"relay-a":"rebooting"}}""")]
    [TestCase("fleet", """["relay-a"]""")]
    [TestCase("reboot", "{}")]
    [TestCase("rebalance", "{}")]
    [TestCase("rebalance", """{"region":""}""")]
    [TestCase("rebalance", """{"region":null}""")]
    [TestCase("rebalance", """{"region":7}""")]
    [TestCase("rebalance", """{"region":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}""")]
    public void TryDecode_MalformedOrUnknown_ReturnsFalse(string name, string payload)
    {
        Assert.That(ControlCodec.TryDecode(name, Encoding.UTF8.GetBytes(payload), out var order), Is.False);
        Assert.That(order, Is.Null);
    }

    [TestCase("")]
    [TestCase("{")]
    [TestCase("""{"relayId":"r"}""")]
    [TestCase("""{"state":"healthy"}""")]
    public void TryDecodeReport_Malformed_ReturnsFalse(string payload)
    {
        Assert.That(ControlCodec.TryDecodeReport(Encoding.UTF8.GetBytes(payload), out var report), Is.False);
        Assert.That(report, Is.Null);
    }

    // A relay's report is copied into the fleet view the core sends every relay: one relay's oversized or absurd report
    // made every relay's fleet view frame too big for its link, which each relay then closed, every second (a review
    // found it). The core ignores such a report, as one that does not decode.
    [TestCase("region")]
    [TestCase("url")]
    [TestCase("relayId")]
    [TestCase("reasons")]
    [TestCase("signals")]
    [TestCase("sessions")]
    [TestCase("weight")]
    public void TryDecodeReport_OutOfBounds_ReturnsFalse(string field)
    {
        var report = Report();
        report = field switch
        {
            "region" => report with { Region = new string('<', ControlCodec.MaxRegionLength + 1) },
            "url" => report with { Url = "wss://relay.example/" + new string('a', RelayHealthReport.MaxUrlLength) },
            "relayId" => report with { RelayId = new string('r', RelayHealthReport.MaxRelayIdLength + 1) },
            "reasons" => report with { Reasons = Enumerable.Repeat("x", RelayHealthReport.MaxReasons + 1).ToList() },
            "signals" => report with { Signals = Enumerable.Range(0, RelayHealthReport.MaxSignals + 1).ToDictionary(i => $"s{i}", _ => new SignalReport(RelayStatus.Healthy, null, new Dictionary<string, object?>())) },
            "sessions" => report with { Sessions = -1 },
            _ => report with { Weight = 101 },
        };

        Assert.That(ControlCodec.TryDecodeReport(ControlCodec.EncodeReport(report), out var decoded), Is.False, field);
        Assert.That(decoded, Is.Null);
    }

    /// <summary>A report with signal values of every run-time type the gateway's signals produce.</summary>
    private static RelayHealthReport Report() => new(
        "relay-eu-1",
        "eu",
        RelayStatus.Draining,
        RelayStatus.Sick,
        ["backhaul lost: no link to the core is up"],
        40,
        s_since,
        1234,
        new DrainStatus(true, "self: sick for 60 s", s_since, null, 1234, 1200, 34, "drain: draining: moving 1234 sessions"),
        new Dictionary<string, SignalReport>
        {
            ["backhaul"] = new(RelayStatus.Sick, "backhaul lost: no link to the core is up", new Dictionary<string, object?>
            {
                ["linksUp"] = 0,
                ["reattaches"] = 5_000_000_000L,
                ["rttMs"] = 12.5,
                ["mode"] = "userspace",
                ["up"] = false,
                ["lastHandshakeAgeSeconds"] = null,
                ["closesByCode"] = new Dictionary<string, long> { ["1013"] = 3 },
            }),
            ["sessions"] = new(RelayStatus.Healthy, null, new Dictionary<string, object?> { ["sessions"] = 1234L }),
        });
}
