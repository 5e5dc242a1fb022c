using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Relay.Cli.Commands;

/// <summary><c>relay fleet CORE_URL</c>: core-sim's fleet view (<c>GET /fleet</c>) as a table, one row per relay.</summary>
internal static class FleetCommand
{
    public static Command Create(Func<ParseResult, CliOutput> output)
    {
        var url = new Argument<string>("CORE_URL") { Description = "core-sim's HTTP address, e.g. http://127.0.0.1:7080" };
        var command = new Command("fleet", "the core's fleet view: every relay's state, sessions, links and RTT") { url };
        command.SetAction(async (p, ct) =>
        {
            var o = output(p);
            var target = RelayHttp.Resolve(p.GetRequiredValue(url), "/fleet");
            var fleet = await RelayHttp.GetObjectAsync(target, ct).ConfigureAwait(false);
            if (fleet["relays"] is not JsonArray relays)
            {
                throw new CliError($"{target} has no relays list: not core-sim?");
            }

            var rows = relays.OfType<JsonObject>().Select(r => new JsonObject
            {
                ["relayId"] = StatusCommand.Text(r["relayId"]),
                ["region"] = r["region"]?.DeepClone(),
                ["state"] = StatusCommand.Text(r["state"]),
                ["reasons"] = r["reasons"]?.DeepClone() ?? new JsonArray(),
                ["sessions"] = r["sessions"]?.DeepClone(),
                ["links"] = r["links"]?.DeepClone(),
                ["streams"] = r["streams"]?.DeepClone(),
                ["rttMs"] = r["rttMs"]?.DeepClone(),
            }).ToList();
            if (o.Json)
            {
                o.WriteJson(new JsonObject
                {
                    ["url"] = target.GetLeftPart(UriPartial.Authority),
                    ["node"] = fleet["node"]?.DeepClone(),
                    ["sessions"] = fleet["sessions"]?.DeepClone(),
                    ["relays"] = new JsonArray([.. rows]),
                });
                return RelayCli.ExitOk;
            }

            var table = new Table().AddColumn("relay").AddColumn("region").AddColumn("state").AddColumn("sessions").AddColumn("links").AddColumn("rtt ms").AddColumn("reasons");
            foreach (var r in rows)
            {
                table.AddRow(
                    Markup.Escape(StatusCommand.Text(r["relayId"])),
                    Markup.Escape(StatusCommand.Text(r["region"])),
                    Markup.Escape(StatusCommand.Text(r["state"])),
                    StatusCommand.Text(r["sessions"]),
                    StatusCommand.Text(r["links"]),
                    r["rttMs"] is JsonValue rtt ? rtt.GetValue<double>().ToString("0.0", CultureInfo.InvariantCulture) : "-",
                    Markup.Escape(StatusCommand.Reasons(r["reasons"])));
            }

            o.Console.Write(table);
            o.Line($"{rows.Count} relays; core {StatusCommand.Text(fleet["node"])}, {StatusCommand.Text(fleet["sessions"])} sessions");
            return RelayCli.ExitOk;
        });
        return command;
    }
}
