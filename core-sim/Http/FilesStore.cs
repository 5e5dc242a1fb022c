using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: uploaded files on disk, named by the SHA-256 of their bytes (so the same bytes are one file, and an id
/// says nothing but the content). A body is streamed to a temporary file while hashed, never held in memory; at most
/// <c>CoreSim:MaxFileBytes</c> each and <c>CoreSim:MaxFiles</c> files. Without <c>CoreSim:FilesPath</c> the folder is
/// made under the temp folder at the first upload and removed when core-sim stops.
/// </summary>
internal sealed class FilesStore : IDisposable
{
    private readonly CoreSimOptions _options;
    private readonly bool _owned;
    private readonly Lock _gate = new();
    private string? _folder;

    public FilesStore(IOptions<CoreSimOptions> options)
    {
        _options = options.Value;
        _owned = string.IsNullOrEmpty(_options.FilesPath);
        _folder = _owned ? null : _options.FilesPath;
    }

    public long MaxBytes => _options.MaxFileBytes;

    /// <summary>The stored file's path for an id, or null (no such file, or not an id).</summary>
    public string? PathOf(string id)
    {
        if (id.Length != 64 || !id.All(char.IsAsciiHexDigitLower) || _folder is null)
        {
            return null;
        }

        string path = Path.Combine(_folder, id);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Streams <paramref name="body"/> to disk. Null when it was over the cap (nothing kept).</summary>
    public async Task<StoredFile?> SaveAsync(Stream body, CancellationToken cancellationToken)
    {
        string folder = Folder();
        string temporary = Path.Combine(folder, "upload-" + Guid.NewGuid().ToString("N"));
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
                            return null;
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
            string path = Path.Combine(folder, id);
            File.Move(temporary, path, overwrite: true);
            return new StoredFile(id, size);
        }
        finally
        {
            File.Delete(temporary); // gone already when moved
        }
    }

    /// <summary>True when another file may be stored.</summary>
    public bool HasRoom() => _folder is null || Directory.EnumerateFiles(_folder).Take(_options.MaxFiles).Count() < _options.MaxFiles;

    public void Dispose()
    {
        if (_owned && _folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
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
}

/// <summary>A stored upload: its id (SHA-256, lower-case hex) and size.</summary>
internal sealed record StoredFile(string Id, long Size);
