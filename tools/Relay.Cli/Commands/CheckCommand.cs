using System.CommandLine;
using System.Text.Json.Nodes;
using Relay.Gateway;

namespace Relay.Cli.Commands;

/// <summary>
/// <c>relay check FILE</c>: validates a gateway configuration file offline with the gateway's own schema, secret-file
/// rules and validators (<see cref="GatewayConfigCheck"/>); one line per problem; exit 0 when the gateway would start
/// with it, 1 when not, 2 (one line on standard error) when FILE is missing or cannot be read.
/// </summary>
internal static class CheckCommand
{
    public static Command Create(Func<ParseResult, CliOutput> output)
    {
        var file = new Argument<string>("FILE") { Description = "the gateway configuration file, e.g. /etc/relay/gateway.json" };
        var development = new Option<bool>("--development") { Description = "check as the Development environment would start (a development backhaul key is accepted)" };
        var command = new Command("check", "validate a gateway configuration file offline, one line per problem") { file, development };
        command.SetAction(p =>
        {
            var o = output(p);
            string path = p.GetRequiredValue(file);
            if (!File.Exists(path))
            {
                // Not an answer about a configuration but an error in the command: one line on standard error, exit 2.
                throw new CliError(Directory.Exists(path) ? $"{path} is a folder; name the configuration file, e.g. {Path.Combine(path, InitCommand.ConfigFile)}" : $"{path}: no such file");
            }

            var problems = GatewayConfigCheck.CheckFile(path, p.GetValue(development));
            if (o.Json)
            {
                o.WriteJson(new JsonObject
                {
                    ["file"] = Path.GetFullPath(path),
                    ["ok"] = problems.Count == 0,
                    ["problems"] = new JsonArray([.. problems.Select(x => (JsonNode?)JsonValue.Create(x))]),
                });
            }
            else if (problems.Count == 0)
            {
                o.Line($"{path}: ok");
            }
            else
            {
                foreach (string problem in problems)
                {
                    o.Line(problem);
                }
            }

            return problems.Count == 0 ? RelayCli.ExitOk : RelayCli.ExitNo;
        });
        return command;
    }
}
