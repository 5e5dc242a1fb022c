using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Relay.Cli;

/// <summary>Where a command writes: tables and lines for people (Spectre.Console), or one JSON document with <c>--json</c>.</summary>
internal sealed class CliOutput
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };
    private readonly TextWriter _out;

    public CliOutput(TextWriter output, TextWriter error, bool json, bool interactive)
    {
        _out = output;
        Error = error;
        Json = json;
        Console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!interactive)
        {
            Console.Profile.Width = 160; // tables in pipes and tests are not cut at 80 columns
        }
    }

    /// <summary>True with <c>--json</c>: the command writes one JSON document and nothing else on standard output.</summary>
    public bool Json { get; }

    public IAnsiConsole Console { get; }

    public TextWriter Error { get; }

    public void Line(string text) => _out.WriteLine(text);

    public void WriteJson(JsonNode node) => _out.WriteLine(node.ToJsonString(s_json));
}
