using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Relay.Cli.Commands;

/// <summary>
/// <c>relay status URL</c>: the gateway's <c>GET /status</c> as tables: state, reasons, sessions, weight, drain, and
/// each backhaul link. Exit 0 when the relay takes sessions (healthy or degraded, not draining), 1 when not.
/// </summary>
internal static class StatusCommand
{
    public static Command Create(Func<ParseResult, CliOutput> output)
    {
        var url = new Argument<string>("URL") { Description = "the gateway's HTTP address, e.g. http://127.0.0.1:8080" };
        var command = new Command("status", "a gateway's state, reasons, sessions and backhaul links") { url };
        command.SetAction(async (p, ct) =>
        {
            var o = output(p);
            var target = RelayHttp.Resolve(p.GetRequiredValue(url), "/status");
            var status = await RelayHttp.GetObjectAsync(target, ct).ConfigureAwait(false);
            var health = status["health"] as JsonObject ?? throw new CliError($"{target} has no health object: not a Relay gateway?");
            string state = Text(health["state"]);
            bool draining = health["drain"]?["draining"]?.GetValue<bool>() ?? false;
            bool ready = state is "healthy" or "degraded" && !draining;
            var links = (status["links"] as JsonArray ?? []).OfType<JsonObject>().Select(l => new JsonObject
            {
                ["endpoint"] = Text(l["endpoint"]),
                ["slot"] = l["slot"]?.DeepClone(),
                ["up"] = l["up"]?.DeepClone(),
                ["streams"] = l["streams"]?.DeepClone(),
                ["rttMs"] = l["rttMs"]?.DeepClone(),
            }).ToList();
            var result = new JsonObject
            {
                ["url"] = target.GetLeftPart(UriPartial.Authority),
                ["relayId"] = Text(health["relayId"]),
                ["region"] = Text(health["region"]),
                ["state"] = state,
                ["health"] = Text(health["health"]),
                ["ready"] = ready,
                ["reasons"] = health["reasons"]?.DeepClone() ?? new JsonArray(),
                ["sessions"] = health["sessions"]?.DeepClone(),
                ["weight"] = health["weight"]?.DeepClone(),
                ["draining"] = draining,
                ["underAttack"] = health["underAttack"]?["on"]?.DeepClone() ?? false,
                ["linksUp"] = links.Count(l => l["up"]?.GetValue<bool>() == true),
                ["links"] = new JsonArray([.. links]),
            };
            if (o.Json)
            {
                o.WriteJson(result);
                return ready ? RelayCli.ExitOk : RelayCli.ExitNo;
            }

            var summary = new Table().AddColumn("field").AddColumn("value");
            summary.AddRow("relay", Markup.Escape($"{result["relayId"]} ({result["region"]}) at {result["url"]}"));
            summary.AddRow("state", Markup.Escape(state + (ready ? " (ready)" : " (not ready)")));
            summary.AddRow("reasons", Markup.Escape(Reasons(result["reasons"])));
            summary.AddRow("sessions", Markup.Escape(Text(result["sessions"])));
            summary.AddRow("weight", Markup.Escape(Text(result["weight"]) + " %"));
            summary.AddRow("draining", draining ? "yes" : "no");
            summary.AddRow("under attack", result["underAttack"]?.GetValue<bool>() == true ? "on" : "off");
            summary.AddRow("links up", Markup.Escape($"{result["linksUp"]} of {links.Count}"));
            o.Console.Write(summary);
            var table = new Table().AddColumn("link").AddColumn("slot").AddColumn("up").AddColumn("streams").AddColumn("rtt ms");
            foreach (var l in links)
            {
                table.AddRow(
                    Markup.Escape(Text(l["endpoint"])),
                    Text(l["slot"]),
                    l["up"]?.GetValue<bool>() == true ? "up" : "down",
                    Text(l["streams"]),
                    l["rttMs"] is JsonValue rtt ? rtt.GetValue<double>().ToString("0.0", CultureInfo.InvariantCulture) : "-");
            }

            o.Console.Write(table);
            return ready ? RelayCli.ExitOk : RelayCli.ExitNo;
        });
        return command;
    }

    internal static string Text(JsonNode? node) => node switch
    {
        null => "-",
        JsonValue v => v.ToString(),
        _ => node.ToJsonString(),
    };

    internal static string Reasons(JsonNode? reasons) =>
        reasons is JsonArray { Count: > 0 } list ? string.Join("; ", list.Select(Text)) : "-";
}
