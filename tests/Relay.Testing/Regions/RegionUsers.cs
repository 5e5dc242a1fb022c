using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Relay.Testing.Processes;

namespace Relay.Testing.Regions;

/// <summary>
/// A welcome one user received: at which URL, resumed or new, when (Stopwatch timestamp, same clock in every process);
/// with negotiate also the region negotiate picked and its reason (null with a fixed URL list).
/// </summary>
public sealed record UserWelcome(int User, string Url, bool Resumed, long Timestamp, string? Region = null, string? Reason = null);

/// <summary>What a users process counted at its end.</summary>
public sealed record UsersResult(
    int Sessions, int Failed, long Sent, long Lost, long Duplicated, long OutOfOrder,
    int RttSamples, double RttP50, double RttP99, double ConnectP50, double ConnectP99, IReadOnlyDictionary<string, int> Urls);

/// <summary>
/// The users of one region: a Relay.Testing.Users process inside the region's users namespace (so its sockets carry
/// the region's user address and cross the WAN), N Relay.Client sessions sending numbered echoes at a rate, each with
/// the ordered URL list (own region's relays first, rotated per user, then the fallback regions'), or with a negotiate
/// URL (the SDK's candidates from negotiate, its race and next-candidate failover). Reads its JSON
/// lines: welcomes (which URL, resumed or not, when), ready, result. Stopped by pid on dispose.
/// </summary>
public sealed class RegionUsers : IDisposable
{
    private const int MaxWelcomes = 200_000;
    private readonly Process _process;
    private readonly List<UserWelcome> _welcomes = [];
    private readonly TaskCompletionSource<int> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<UsersResult> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _errors = new();

    private RegionUsers(Process process, int sessions)
    {
        _process = process;
        Sessions = sessions;
    }

    public int Sessions { get; }

    /// <summary>The last lines of its stderr.</summary>
    public string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join('\n', _errors);
            }
        }
    }

    internal static RegionUsers Start(RegionsLab lab, string ns, string name, int sessions, double rate, IReadOnlyList<Uri> urls, int own, int firstId, Uri? negotiateUrl, TimeSpan? raceAfter)
    {
        var start = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        IEnumerable<string> steering = negotiateUrl is null
            ? ["--own", own.ToString(CultureInfo.InvariantCulture), .. urls.SelectMany(u => new[] { "--url", u.ToString() })]
            : ["--negotiate-url", negotiateUrl.ToString(), .. raceAfter is { } race ? ["--race-after-ms", race.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)] : Array.Empty<string>()];
        foreach (string a in new[] { "netns", "exec", ns, "dotnet", Repo.UsersDll, "--name", name, "--signing-key", lab.SigningKeyPath, "--site", RegionsLab.Site,
            "--sessions", sessions.ToString(CultureInfo.InvariantCulture), "--rate", rate.ToString(CultureInfo.InvariantCulture),
            "--first-id", firstId.ToString(CultureInfo.InvariantCulture), "--max-seconds", "900" }
            .Concat(steering))
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = Process.Start(start) ?? throw new IOException("could not start the users process");
        var users = new RegionUsers(process, sessions);
        process.OutputDataReceived += (_, e) => users.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => users.OnError(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(_ =>
        {
            users._ready.TrySetException(new InvalidOperationException($"users process exited ({process.ExitCode}) before ready:\n{users.Errors}"));
            users._result.TrySetException(new InvalidOperationException($"users process exited ({process.ExitCode}) without a result:\n{users.Errors}"));
        }, TaskScheduler.Default);
        return users;
    }

    /// <summary>Every welcome so far.</summary>
    public IReadOnlyList<UserWelcome> Welcomes
    {
        get
        {
            lock (_welcomes)
            {
                return [.. _welcomes];
            }
        }
    }

    /// <summary>Each user's last welcome.</summary>
    public IReadOnlyDictionary<int, UserWelcome> Latest
    {
        get
        {
            lock (_welcomes)
            {
                return _welcomes.GroupBy(w => w.User).ToDictionary(g => g.Key, g => g.Last());
            }
        }
    }

    /// <summary>Waits until every session has its first welcome; returns how many connected.</summary>
    public Task<int> WaitReadyAsync(TimeSpan limit, CancellationToken token) => _ready.Task.WaitAsync(limit, token);

    /// <summary>Forgets the round trips measured so far (after a warm-up).</summary>
    public void ResetRoundTrips() => _process.StandardInput.WriteLine("reset");

    /// <summary>Stops sending, lets the echoes settle (the users process bounds that), returns the counts.</summary>
    public async Task<UsersResult> StopAsync(TimeSpan limit, CancellationToken token)
    {
        await _process.StandardInput.WriteLineAsync("stop".AsMemory(), token);
        await _process.StandardInput.FlushAsync(token);
        return await _result.Task.WaitAsync(limit, token);
    }

    /// <summary>Waits until <paramref name="condition"/> holds for each user's latest welcome (every user present); bounded.</summary>
    public async Task<bool> WaitUntilAllAsync(Func<UserWelcome, bool> condition, TimeSpan limit, CancellationToken token)
    {
        long until = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            var latest = Latest;
            if (latest.Count >= Sessions && latest.Values.All(condition))
            {
                return true;
            }

            await Task.Delay(50, token);
        }

        return false;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                ProcessRunner.TryRun("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
                if (!_process.WaitForExit(5000))
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5000);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
    }

    private void OnError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_errors)
        {
            _errors.Enqueue(line);
            if (_errors.Count > 40)
            {
                _errors.Dequeue();
            }
        }
    }

    private void OnLine(string? line)
    {
        if (line is null || !line.StartsWith('{'))
        {
            return;
        }

        using var doc = JsonDocument.Parse(line);
        var e = doc.RootElement;
        switch (e.GetProperty("e").GetString())
        {
            case "welcome":
                lock (_welcomes)
                {
                    if (_welcomes.Count < MaxWelcomes)
                    {
                        _welcomes.Add(new UserWelcome(e.GetProperty("user").GetInt32(), e.GetProperty("url").GetString() ?? "", e.GetProperty("resumed").GetBoolean(), e.GetProperty("t").GetInt64(),
                            Text(e, "region"), Text(e, "reason")));
                    }
                }

                break;
            case "ready":
                _ready.TrySetResult(e.GetProperty("sessions").GetInt32());
                break;
            case "result":
                _result.TrySetResult(new UsersResult(
                    e.GetProperty("sessions").GetInt32(), e.GetProperty("failed").GetInt32(), e.GetProperty("sent").GetInt64(), e.GetProperty("lost").GetInt64(),
                    e.GetProperty("duplicated").GetInt64(), e.GetProperty("outOfOrder").GetInt64(), e.GetProperty("rttSamples").GetInt32(),
                    Number(e.GetProperty("rttP50")), Number(e.GetProperty("rttP99")), Number(e.GetProperty("connectP50")), Number(e.GetProperty("connectP99")),
                    e.GetProperty("urls").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32())));
                break;
        }
    }

    private static string? Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double Number(JsonElement e) => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : double.NaN;
}
