using System.CommandLine;
using System.Text.Json.Nodes;
using Relay.Gateway;

namespace Relay.Cli.Commands;

/// <summary>
/// <c>relay drain URL [--force]</c> and <c>relay undrain URL</c>: the gateway's admin API (<c>POST /admin/drain</c>,
/// <c>/admin/undrain</c>) with its admin key, read from <c>--admin-key-file</c> (default /etc/relay/admin.key) or the
/// <c>RELAY_ADMIN_KEY</c> environment variable, never from the command line. Exit 0 accepted, 1 refused (the last
/// healthy relay without --force), 2 unauthorized or unreachable.
/// </summary>
internal static class DrainCommand
{
    /// <summary>The environment variable that may hold the admin key.</summary>
    public const string AdminKeyVariable = "RELAY_ADMIN_KEY";

    /// <summary>Where <c>relay init</c> writes the admin key.</summary>
    public static string DefaultAdminKeyFile => Path.Combine(Path.GetDirectoryName(GatewayConfiguration.SystemConfigPath)!, "admin.key");

    public static Command Create(Func<ParseResult, CliOutput> output, bool drain)
    {
        var url = new Argument<string>("URL") { Description = "the gateway's HTTP address, e.g. http://127.0.0.1:8080" };
        var keyFile = new Option<string?>("--admin-key-file") { Description = $"file holding the gateway's Gateway:AdminKey (default: ${AdminKeyVariable}, else {DefaultAdminKeyFile})", HelpName = "FILE" };
        var force = new Option<bool>("--force") { Description = "drain even when the core's fleet view shows no other healthy relay" };
        var command = drain
            ? new Command("drain", "stop taking sessions and move the relay's sessions away (4001, in batches)") { url, keyFile, force }
            : new Command("undrain", "take sessions again after a drain") { url, keyFile };
        command.SetAction(async (p, ct) =>
        {
            var o = output(p);
            string path = drain && p.GetValue(force) ? "/admin/drain?force=true" : drain ? "/admin/drain" : "/admin/undrain";
            var target = RelayHttp.Resolve(p.GetRequiredValue(url), path);
            string key = AdminKey(p.GetValue(keyFile));
            var (status, body) = await RelayHttp.SendAsync(HttpMethod.Post, target, key, ct).ConfigureAwait(false);
            if (status == 401)
            {
                throw new CliError($"{target.GetLeftPart(UriPartial.Path)}: unauthorized: the admin key is not the gateway's Gateway:AdminKey (or the gateway has none)");
            }

            if (status is not (200 or 409) || body is not JsonObject answer)
            {
                throw new CliError($"{target.GetLeftPart(UriPartial.Path)} answered {status}");
            }

            bool accepted = answer["accepted"]?.GetValue<bool>() ?? false;
            string message = StatusCommand.Text(answer["message"]);
            if (o.Json)
            {
                o.WriteJson(new JsonObject
                {
                    ["url"] = target.GetLeftPart(UriPartial.Authority),
                    ["action"] = drain ? "drain" : "undrain",
                    ["accepted"] = accepted,
                    ["message"] = message,
                    ["drain"] = answer["drain"]?.DeepClone(),
                });
            }
            else
            {
                o.Line($"{(drain ? "drain" : "undrain")} {(accepted ? "accepted" : "refused")}: {message}");
            }

            return accepted ? RelayCli.ExitOk : RelayCli.ExitNo;
        });
        return command;
    }

    private static string AdminKey(string? file)
    {
        if (file is null && Environment.GetEnvironmentVariable(AdminKeyVariable) is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment.Trim();
        }

        string path = file ?? DefaultAdminKeyFile;
        return GatewayConfiguration.ReadSecretFile("--admin-key-file", path, out string? error)
            ?? throw new CliError(file is null ? $"no admin key: set {AdminKeyVariable} or --admin-key-file ({error})" : error!);
    }
}
