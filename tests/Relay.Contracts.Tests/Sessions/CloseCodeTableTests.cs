using System.Reflection;
using System.Text.RegularExpressions;
using Relay.Contracts.Sessions;

namespace Relay.Contracts.Tests.Sessions;

/// <summary>The JS SDK's close-code tables (source, classic-script build, type declarations) against <see cref="CloseCodes"/>.</summary>
[TestFixture]
public sealed partial class CloseCodeTableTests
{
    /// <summary>C# codes the JS SDK need not name: only core-sim sends them, and a client handles them like any other code.</summary>
    private static readonly string[] s_serverOnly = [nameof(CloseCodes.UnsupportedData)];

    [TestCase("relay-client.js", @"export const CloseCodes = Object\.freeze\(\{(?<body>[^}]*)\}\)")]
    [TestCase("relay-client.global.js", @"const CloseCodes = Object\.freeze\(\{(?<body>[^}]*)\}\)")]
    [TestCase("relay-client.d.ts", @"export declare const CloseCodes: Readonly<\{(?<body>[^}]*)\}>")]
    public void JsCloseCodes_SameNamesAndValuesAsCSharp(string file, string tablePattern)
    {
        string source = File.ReadAllText(Path.Combine(RepoRoot(), "clients", "js", file));
        var table = Regex.Match(source, tablePattern);
        Assert.That(table.Success, Is.True, $"no CloseCodes table found in clients/js/{file}");

        var js = Entry().Matches(table.Groups["body"].Value).ToDictionary(m => m.Groups["name"].Value, m => int.Parse(m.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture));
        var cs = typeof(CloseCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && !s_serverOnly.Contains(f.Name))
            .ToDictionary(f => char.ToLowerInvariant(f.Name[0]) + f.Name[1..], f => (int)f.GetRawConstantValue()!);

        Assert.That(js, Is.EquivalentTo(cs), $"clients/js/{file} CloseCodes differs from Relay.Contracts.Sessions.CloseCodes");
    }

    [Test]
    public void CloseCodes_EveryValueNamedOnce()
    {
        var values = typeof(CloseCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (int)f.GetRawConstantValue()!).ToList();
        Assert.That(values, Is.Unique);
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Relay.sln not found above " + TestContext.CurrentContext.TestDirectory);
    }

    [GeneratedRegex(@"(?<name>[A-Za-z]+)\s*:\s*(?<code>\d+)")]
    private static partial Regex Entry();
}
