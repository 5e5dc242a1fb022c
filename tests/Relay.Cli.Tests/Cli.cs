using System.Diagnostics;
using System.Text.Json.Nodes;
using Relay.Testing;

namespace Relay.Cli.Tests;

/// <summary>Runs the relay CLI in-process (as Program does, output captured) or as the built relay.dll process.</summary>
internal static class Cli
{
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = await RelayCli.RunAsync(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>Runs <c>dotnet relay.dll args</c> from a fresh working folder.</summary>
    public static async Task<CliRun> RunProcessAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = TempFolders.Create("relay-cli-cwd-"),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "relay.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return new CliRun(process.ExitCode, await output, await error);
    }
}

internal sealed record CliRun(int Code, string Output, string Error)
{
    public string[] OutputLines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public JsonObject Json => JsonNode.Parse(Output) as JsonObject ?? throw new AssertionException("not a JSON object: " + Output);

    public override string ToString() => $"exit {Code}\n{Output}\n{Error}";
}
