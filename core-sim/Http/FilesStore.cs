using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: uploaded files on disk, named by the SHA-256 of their bytes (so the same bytes are one file, and an id
/// says nothing but the content). A body is streamed to a temporary file while hashed, never held in memory; at most
/// <c>CoreSim:MaxFileBytes</c> each. Limits (uploads in progress count, so concurrent uploads cannot pass them): files
/// and bytes in all (<c>MaxFiles</c>, <c>MaxTotalFileBytes</c>) and per user, a token's site and <c>sub</c>
/// (<c>MaxFilesPerUser</c>, <c>MaxFileBytesPerUser</c>, and <c>MaxUploadsPerUser</c> in progress): an upload takes one
/// file's room (<see cref="Reserve"/>) before its body is read, its bytes as they arrive, and gives both back when it fails. A file is
/// kept <c>CoreSim:FileRetention</c> after its latest upload (per user: each uploader's copy counts against that user
/// until it expires); then it is not served, and a sweep each minute deletes it. Who uploaded a file and when is kept
/// beside it (<c>{id}.owners</c>), so a restart keeps quotas and ages; a file without one (from before) counts from its
/// modification time for no user. Without <c>CoreSim:FilesPath</c> the folder is made under the temp folder at the
/// first upload and removed when core-sim stops. The index is this process's: one folder per core-sim.
/// </summary>
internal sealed class FilesStore(IOptions<CoreSimOptions> options, TimeProvider time) : IHostedService, IDisposable
{
    /// <summary>How often expired files are deleted.</summary>
    public static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);

    private const string OwnersSuffix = ".owners";
    private const string TemporaryPrefix = "upload-";

    private readonly CoreSimOptions _options = options.Value;
    private readonly bool _owned = string.IsNullOrEmpty(options.Value.FilesPath);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Usage> _users = new(StringComparer.Ordinal);
    private long _keptBytes;
    private int _pendingFiles;
    private long _pendingBytes;
    private string? _folder = string.IsNullOrEmpty(options.Value.FilesPath) ? null : options.Value.FilesPath;
    private ITimer? _sweep;

    public long MaxBytes => _options.MaxFileBytes;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Load();
        _sweep = time.CreateTimer(_ => Sweep(), null, SweepInterval, SweepInterval);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _sweep?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>The stored file's path and when it expires, for an id; false for no such file, an expired one, or not an id.</summary>
    public bool TryGet(string id, out string path, out DateTimeOffset expiresAt)
    {
        path = string.Empty;
        expiresAt = default;
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        lock (_gate)
        {
            if (_folder is null || !_files.TryGetValue(id, out var entry) || ExpiresAt(entry) <= time.GetUtcNow())
            {
                return false;
            }

            path = Path.Combine(_folder, id);
            expiresAt = ExpiresAt(entry);
            return true;
        }
    }

    /// <summary>The key of a user's quota: a token's site and sub (the same sub on two sites is two users).</summary>
    public static string UserKey(string site, string sub) => $"{site.Length}:{site}/{sub}";

    /// <summary>
    /// Takes the room of one more file for <paramref name="user"/> (<see cref="UserKey"/>); its bytes are taken as they
    /// arrive (<see cref="Grow"/>): <paramref name="declaredBytes"/> (its Content-Length, 0 when unknown) only refuses at
    /// once what cannot fit, so an upload that declares much and sends little holds no more than it sent. Null, with the
    /// reason, when a limit would be passed; <paramref name="busy"/> when the user has MaxUploadsPerUser in progress.
    /// </summary>
    public FileUpload? Reserve(string user, long declaredBytes, out string? refused, out bool busy)
    {
        lock (_gate)
        {
            var usage = UsageOf(user);
            busy = usage.Uploading >= _options.MaxUploadsPerUser;
            refused = busy
                ? $"you have {usage.Uploading} uploads in progress, at most {_options.MaxUploadsPerUser} (CoreSim:MaxUploadsPerUser); send the next when one ends"
                : _files.Count + _pendingFiles >= _options.MaxFiles
                ? $"no room for more files: {_options.MaxFiles} are kept or being uploaded (CoreSim:MaxFiles); each is kept {_options.FileRetention} from its upload"
                : usage.Files >= _options.MaxFilesPerUser
                    ? $"quota: you keep {usage.Files} files (uploads in progress count), at most {_options.MaxFilesPerUser} (CoreSim:MaxFilesPerUser); each is kept {_options.FileRetention} from its upload"
                    : BytesRefused(usage, declaredBytes);
            if (refused is not null)
            {
                return null;
            }

            _pendingFiles++;
            usage.Files++;
            usage.Uploading++;
            return new FileUpload(this, user, 0);
        }
    }

    /// <summary>Streams <paramref name="body"/> to disk and keeps it for the upload's user, or says why not (nothing kept then).</summary>
    public async Task<SaveResult> SaveAsync(FileUpload upload, Stream body, CancellationToken cancellationToken)
    {
        string folder = Folder();
        string temporary = Path.Combine(folder, TemporaryPrefix + Guid.NewGuid().ToString("N"));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
                try
                {
                    int n;
                    while ((n = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        size += n;
                        if (size > _options.MaxFileBytes)
                        {
                            return new SaveResult(null, null);
                        }

                        if (Grow(upload, size) is { } refused)
                        {
                            return new SaveResult(null, refused);
                        }

                        hash.AppendData(buffer, 0, n);
                        await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                }
            }

            string id = Convert.ToHexStringLower(hash.GetHashAndReset());
            Commit(upload, id, size, temporary);
            return new SaveResult(new StoredFile(id, size), null);
        }
        finally
        {
            File.Delete(temporary); // gone already when moved
        }
    }

    public void Dispose()
    {
        _sweep?.Dispose();
        if (_owned && _folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    /// <summary>Deletes what expired: each user's copy <c>FileRetention</c> after its upload, a file when no copy is left.</summary>
    internal void Sweep()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var (id, entry) in _files.ToList())
            {
                var expired = entry.Owners.Where(o => o.Value + _options.FileRetention <= now).Select(o => o.Key).ToList();
                if (expired.Count == 0)
                {
                    continue;
                }

                foreach (string sub in expired)
                {
                    entry.Owners.Remove(sub);
                    DropCopy(sub, entry.Size);
                }

                if (entry.Owners.Count == 0)
                {
                    _files.Remove(id);
                    _keptBytes -= entry.Size;
                    TryDelete(Path.Combine(_folder!, id));
                    TryDelete(Path.Combine(_folder!, id + OwnersSuffix));
                }
                else
                {
                    WriteOwners(id, entry);
                }
            }
        }
    }

    /// <summary>Gives an upload's room back (it failed, or was kept: then its file holds the room).</summary>
    internal void Release(FileUpload upload)
    {
        lock (_gate)
        {
            if (upload.Done)
            {
                return;
            }

            upload.Done = true;
            _pendingFiles--;
            var usage = UsageOf(upload.Sub);
            usage.Files--;
            usage.Uploading--;
            GivePending(usage, upload.Bytes);
            Forget(upload.Sub, usage);
        }
    }

    private string? BytesRefused(Usage usage, long more)
    {
        if (usage.Bytes + more > _options.MaxFileBytesPerUser)
        {
            return $"quota: your files take {usage.Bytes} bytes (uploads in progress count); {more} more would pass {_options.MaxFileBytesPerUser} (CoreSim:MaxFileBytesPerUser); each is kept {_options.FileRetention} from its upload";
        }

        return _keptBytes + _pendingBytes + more > _options.MaxTotalFileBytes
            ? $"no room for {more} more bytes: all files may take {_options.MaxTotalFileBytes} (CoreSim:MaxTotalFileBytes), uploads in progress included"
            : null;
    }

    /// <summary>The upload's room, grown to <paramref name="size"/> bytes; the reason when a limit would be passed.</summary>
    private string? Grow(FileUpload upload, long size)
    {
        if (size <= upload.Bytes)
        {
            return null;
        }

        lock (_gate)
        {
            long more = size - upload.Bytes;
            var usage = UsageOf(upload.Sub);
            if (BytesRefused(usage, more) is { } refused)
            {
                return refused;
            }

            TakePending(usage, more);
            upload.Bytes = size;
            return null;
        }
    }

    /// <summary>Keeps the uploaded file (moved from <paramref name="temporary"/> unless the same bytes are kept already) for the upload's user.</summary>
    private void Commit(FileUpload upload, string id, long size, string temporary)
    {
        lock (_gate)
        {
            Release(upload);
            var now = time.GetUtcNow();
            if (!_files.TryGetValue(id, out var entry))
            {
                File.Move(temporary, Path.Combine(_folder!, id), overwrite: true);
                entry = new Entry(size, new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal));
                _files[id] = entry;
                _keptBytes += size;
            }

            if (!entry.Owners.ContainsKey(upload.Sub))
            {
                var usage = UsageOf(upload.Sub);
                usage.Files++;
                usage.Bytes += size;
            }

            entry.Owners[upload.Sub] = now; // the same bytes again: kept FileRetention from now
            WriteOwners(id, entry);
        }
    }

    /// <summary>The files already in <c>FilesPath</c> and who uploaded them when; leftovers of an interrupted upload are deleted.</summary>
    private void Load()
    {
        if (_folder is null || !Directory.Exists(_folder))
        {
            return;
        }

        lock (_gate)
        {
            foreach (string path in Directory.EnumerateFiles(_folder))
            {
                string name = Path.GetFileName(path);
                if (name.StartsWith(TemporaryPrefix, StringComparison.Ordinal))
                {
                    TryDelete(path);
                }
                else if (name.Length == 64 && name.All(char.IsAsciiHexDigitLower))
                {
                    var file = new FileInfo(path);
                    var owners = ReadOwners(path + OwnersSuffix) ?? new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { [string.Empty] = file.LastWriteTimeUtc };
                    _files[name] = new Entry(file.Length, owners);
                    _keptBytes += file.Length;
                    foreach (string sub in owners.Keys)
                    {
                        var usage = UsageOf(sub);
                        usage.Files++;
                        usage.Bytes += file.Length;
                    }
                }
            }

            foreach (string path in Directory.EnumerateFiles(_folder, "*" + OwnersSuffix))
            {
                if (!_files.ContainsKey(Path.GetFileName(path)[..^OwnersSuffix.Length]))
                {
                    TryDelete(path); // its file is gone
                }
            }
        }
    }

    /// <summary>An <c>{id}.owners</c> file: <c>{"<user key>": unix ms of the upload, …}</c> (<see cref="UserKey"/>); null when missing or not one.</summary>
    private static Dictionary<string, DateTimeOffset>? ReadOwners(string path)
    {
        try
        {
            var owners = JsonSerializer.Deserialize<Dictionary<string, long>>(File.ReadAllText(path));
            return owners is { Count: > 0 }
                ? owners.ToDictionary(o => o.Key, o => DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(o.Value, 0, 253_402_300_799_999)), StringComparer.Ordinal)
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes <c>{id}.owners</c> (a temporary file renamed over it, so a crash leaves the old or the new one).</summary>
    private void WriteOwners(string id, Entry entry)
    {
        string path = Path.Combine(_folder!, id + OwnersSuffix);
        string temporary = Path.Combine(_folder!, TemporaryPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllText(temporary, JsonSerializer.Serialize(entry.Owners.ToDictionary(o => o.Key, o => o.Value.ToUnixTimeMilliseconds())));
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort (a full disk): this process's index stays right; after a restart the file counts from its
            // modification time for no user.
            TryDelete(temporary);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // the next start deletes what is left
        }
    }

    private DateTimeOffset ExpiresAt(Entry entry) => entry.Owners.Values.Max() + _options.FileRetention;

    private Usage UsageOf(string sub)
    {
        if (!_users.TryGetValue(sub, out var usage))
        {
            usage = new Usage();
            _users[sub] = usage;
        }

        return usage;
    }

    private void TakePending(Usage usage, long bytes)
    {
        usage.Bytes += bytes;
        _pendingBytes += bytes;
    }

    private void GivePending(Usage usage, long bytes)
    {
        usage.Bytes -= bytes;
        _pendingBytes -= bytes;
    }

    /// <summary>A kept copy of <paramref name="bytes"/> of <paramref name="sub"/>'s expired.</summary>
    private void DropCopy(string sub, long bytes)
    {
        var usage = UsageOf(sub);
        usage.Files--;
        usage.Bytes -= bytes;
        Forget(sub, usage);
    }

    private void Forget(string sub, Usage usage)
    {
        if (usage.Files == 0 && usage.Bytes == 0 && usage.Uploading == 0)
        {
            _users.Remove(sub);
        }
    }

    private string Folder()
    {
        lock (_gate)
        {
            _folder ??= Path.Combine(Path.GetTempPath(), $"relay-core-sim-files-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(_folder);
            return _folder;
        }
    }

    /// <summary>A kept file: its size and each uploader's latest upload.</summary>
    private sealed record Entry(long Size, Dictionary<string, DateTimeOffset> Owners);

    /// <summary>A user's files and bytes, kept and being uploaded.</summary>
    private sealed class Usage
    {
        public int Files;
        public long Bytes;
        public int Uploading;
    }
}

/// <summary>An upload's room (<see cref="FilesStore.Reserve"/>): given back when disposed unless its file was kept.</summary>
internal sealed class FileUpload(FilesStore store, string sub, long bytes) : IDisposable
{
    public string Sub { get; } = sub;

    /// <summary>The bytes its room holds (guarded by the store's lock).</summary>
    public long Bytes { get; set; } = bytes;

    /// <summary>Given back (guarded by the store's lock).</summary>
    public bool Done { get; set; }

    public void Dispose() => store.Release(this);
}

/// <summary>A kept upload, or why not: <see cref="Refused"/> (a limit), else over <c>MaxFileBytes</c>.</summary>
internal sealed record SaveResult(StoredFile? File, string? Refused);

/// <summary>A stored upload: its id (SHA-256, lower-case hex) and size.</summary>
internal sealed record StoredFile(string Id, long Size);
