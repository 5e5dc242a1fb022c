using System.Globalization;
using System.Net;
using Relay.Contracts.Regions;
using Relay.Regions;

// relay-regions: the PowerDNS steering zone from one regions file (docs/regions.md).
const string Usage = """
    usage: relay-regions generate --regions FILE --out DIR --local-address ADDR[,ADDR...] [--local-port 53]
                                  [--health-check-interval 5] [--health-check-timeout 2]
                                  [--nameserver ns1.ZONE] [--nameserver-address ADDR] [--serial N]
           relay-regions check --regions FILE
      generate  validates FILE and writes DIR/pdns.conf, DIR/named.conf, DIR/<zone>.zone (the LUA record) and
                DIR/subnets.tsv; run PowerDNS with: pdns_server --config-dir=DIR
      check     validates FILE only
    exit codes: 0 done, 1 invalid regions file or unwritable output, 2 bad command line
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}

string verb = args[0];
var values = new Dictionary<string, string>(StringComparer.Ordinal);
string[] known = ["--regions", "--out", "--local-address", "--local-port", "--health-check-interval", "--health-check-timeout", "--nameserver", "--nameserver-address", "--serial"];
for (int i = 1; i < args.Length; i++)
{
    if (!known.Contains(args[i]) || i + 1 >= args.Length)
    {
        return UsageError(known.Contains(args[i]) ? $"{args[i]} needs a value" : $"unknown option '{args[i]}'");
    }

    values[args[i]] = values.TryGetValue(args[i], out var earlier) && args[i] == "--local-address" ? earlier + "," + args[i + 1] : args[i + 1];
    i++;
}

if (verb is not ("generate" or "check"))
{
    return UsageError($"unknown command '{verb}'");
}

if (!values.TryGetValue("--regions", out var regionsPath))
{
    return UsageError("--regions FILE is required");
}

RegionsFile file;
try
{
    file = RegionsFile.LoadForDns(regionsPath);
}
catch (InvalidDataException e)
{
    Console.Error.WriteLine($"relay-regions: {e.Message}");
    return 1;
}

if (verb == "check")
{
    Console.WriteLine($"relay-regions: {regionsPath}: {file.Regions.Count} regions, {file.Regions.Sum(r => r.Relays.Count)} relays, {file.Regions.Sum(r => r.Subnets.Count)} subnets: valid");
    return 0;
}

if (!values.TryGetValue("--out", out var outDir))
{
    return UsageError("--out DIR is required");
}

if (!values.TryGetValue("--local-address", out var localList))
{
    return UsageError("--local-address ADDR is required (the address PowerDNS answers on)");
}

string[] localAddresses = localList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
if (localAddresses.FirstOrDefault(a => !IPAddress.TryParse(a, out _)) is { } badAddress)
{
    return UsageError($"--local-address: '{badAddress}' is not an IP address");
}

if (values.TryGetValue("--nameserver-address", out var nsAddress) && !IPAddress.TryParse(nsAddress, out _))
{
    return UsageError($"--nameserver-address: '{nsAddress}' is not an IP address");
}

string? nameserver = values.GetValueOrDefault("--nameserver");
if (nameserver is not null && !nameserver.EndsWith('.'))
{
    return UsageError($"--nameserver: '{nameserver}' needs its trailing dot");
}

if (!Number("--local-port", 53, 1, 65535, out int port) || !Number("--health-check-interval", 5, 1, 3600, out int interval)
    || !Number("--health-check-timeout", 2, 1, 60, out int timeout))
{
    return 2;
}

uint serial = (uint)TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
if (values.TryGetValue("--serial", out var serialText) && !uint.TryParse(serialText, NumberStyles.None, CultureInfo.InvariantCulture, out serial))
{
    return UsageError($"--serial: '{serialText}' is not a number between 0 and {uint.MaxValue}");
}

string folder = Path.GetFullPath(outDir);
var settings = new GeneratorSettings(Path.GetFullPath(regionsPath), folder, localAddresses, port, interval, timeout, nameserver, nsAddress, serial);
try
{
    Directory.CreateDirectory(folder);
    Write(ZoneFiles.ZoneFileName(file), ZoneFiles.Zone(file, settings));
    Write("named.conf", ZoneFiles.NamedConf(file, folder));
    Write("subnets.tsv", SubnetTable.Tsv(file));
    Write("pdns.conf", ZoneFiles.PdnsConf(file, settings, folder));
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"relay-regions: cannot write {folder}: {e.Message}");
    return 1;
}

Console.WriteLine($"relay-regions: wrote {folder}/{{pdns.conf,named.conf,{ZoneFiles.ZoneFileName(file)},subnets.tsv}}; start: pdns_server --config-dir={folder}");
return 0;

// Each file replaces the old one whole (a running PowerDNS reloading the zone never reads half a file).
void Write(string name, string text)
{
    string path = Path.Combine(folder, name);
    File.WriteAllText(path + ".tmp", text);
    File.Move(path + ".tmp", path, overwrite: true);
}

bool Number(string option, int fallback, int min, int max, out int value)
{
    value = fallback;
    if (!values.TryGetValue(option, out var text))
    {
        return true;
    }

    if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
    {
        return true;
    }

    UsageError($"{option}: '{text}' is not a number from {min} to {max}");
    return false;
}

static int UsageError(string message)
{
    Console.Error.WriteLine($"relay-regions: {message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
