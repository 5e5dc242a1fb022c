using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.CoreSim.Configuration;
using Relay.Testing;

namespace Relay.CoreSim.Tests.Http;

/// <summary>
/// <c>POST /files</c>'s limits (docs/known-gaps.md, fixed): a quota per user (a token's <c>sub</c>) in files and bytes,
/// files kept for <c>CoreSim:FileRetention</c> (then 404 and deleted), and the room reserved before an upload starts, so
/// concurrent uploads cannot pass <c>MaxFiles</c>. Ages on a fake clock.
/// </summary>
[TestFixture]
public sealed class FilesTests
{
    private static readonly DateTimeOffset s_start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private string _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = TempFolders.Create("relay-files-");

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public async Task Upload_BeyondTheUsersFileCount_Is507_WhileAnotherUserStillUploads()
    {
        await using var host = await StartAsync(new FakeTimeProvider(s_start), o => o.MaxFilesPerUser = 3);
        string alice = CoreSimFixture.Token(host, "alice");

        for (int i = 0; i < 3; i++)
        {
            using var kept = await UploadAsync(host, alice, Bytes(10, i));
            Assert.That(kept.StatusCode, Is.EqualTo(HttpStatusCode.Created), $"upload {i + 1} of 3");
        }

        using var fourth = await UploadAsync(host, alice, Bytes(10, 3));
        using var other = await UploadAsync(host, CoreSimFixture.Token(host, "bob"), Bytes(10, 3));

        string error = fourth.StatusCode == HttpStatusCode.InsufficientStorage ? await ErrorAsync(fourth) : string.Empty;
        Assert.Multiple(() =>
        {
            Assert.That(fourth.StatusCode, Is.EqualTo(HttpStatusCode.InsufficientStorage));
            Assert.That(error, Does.Contain("3 files").And.Contain("MaxFilesPerUser"));
            Assert.That(other.StatusCode, Is.EqualTo(HttpStatusCode.Created), "the quota is alice's, not everyone's");
        });
    }

    [TestCase(false, TestName = "Upload_BeyondTheUsersBytes_Is507_AndKeepsNothing(Content-Length)")]
    [TestCase(true, TestName = "Upload_BeyondTheUsersBytes_Is507_AndKeepsNothing(chunked)")]
    public async Task Upload_BeyondTheUsersBytes_Is507_AndKeepsNothing(bool chunked)
    {
        await using var host = await StartAsync(new FakeTimeProvider(s_start), o =>
        {
            o.MaxFileBytes = 600;
            o.MaxFileBytesPerUser = 1000;
        });
        string alice = CoreSimFixture.Token(host, "alice");
        using var first = await UploadAsync(host, alice, Bytes(500, 1), chunked);
        using var again = await UploadAsync(host, alice, Bytes(500, 1), chunked);

        using var over = await UploadAsync(host, alice, Bytes(501, 2), chunked);
        using var fits = await UploadAsync(host, alice, Bytes(500, 3), chunked);

        string error = over.StatusCode == HttpStatusCode.InsufficientStorage ? await ErrorAsync(over) : string.Empty;
        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Created), "the same bytes again are the same file: not counted twice");
            Assert.That(over.StatusCode, Is.EqualTo(HttpStatusCode.InsufficientStorage));
            Assert.That(error, Does.Contain("MaxFileBytesPerUser"));
            Assert.That(fits.StatusCode, Is.EqualTo(HttpStatusCode.Created), "what is left of the quota still takes a file");
            Assert.That(StoredFiles(), Has.Count.EqualTo(2), "nothing of the refused upload is kept");
        });
    }

    [TestCase(false, TestName = "ConcurrentUploads_OfFiveUsers_CannotPassMaxFiles")]
    [TestCase(true, TestName = "ConcurrentUploads_OfOneUser_CannotPassMaxFilesPerUser")]
    [CancelAfter(60_000)]
    public async Task ConcurrentUploads_CannotPassTheLimit(bool oneUser, CancellationToken ct)
    {
        await using var host = await StartAsync(new FakeTimeProvider(s_start), o =>
        {
            o.MaxFiles = oneUser ? 1000 : 2;
            o.MaxFilesPerUser = 2;
        });

        // Five uploads at once, each body held after its first bytes until all five have reached the core: an upload in
        // progress has its temporary file on disk, a refused one its answer (Expect: 100-continue: no body sent before).
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var uploads = Enumerable.Range(0, 5).Select(i => SendHeldAsync(host, CoreSimFixture.Token(host, oneUser ? "alice" : $"user-{i}"), Bytes(5000, i), gate.Task, ct)).ToArray();
        for (int i = 0; i < 600 && Directory.EnumerateFiles(_folder, "upload-*").Count() + uploads.Count(u => u.IsCompleted) < uploads.Length; i++)
        {
            await Task.Delay(50, ct);
        }

        gate.SetResult();
        var statuses = await Task.WhenAll(uploads);

        Assert.Multiple(() =>
        {
            Assert.That(statuses.Count(s => s == HttpStatusCode.Created), Is.EqualTo(2), string.Join(", ", statuses));
            Assert.That(statuses.Count(s => s == HttpStatusCode.InsufficientStorage), Is.EqualTo(3), string.Join(", ", statuses));
            Assert.That(StoredFiles(), Has.Count.EqualTo(2), "the limit held");
        });
    }

    [Test]
    public async Task File_AfterRetention_Is404_AndDeleted()
    {
        var time = new FakeTimeProvider(s_start);
        await using var host = await StartAsync(time);
        string alice = CoreSimFixture.Token(host, "alice");
        using var upload = await UploadAsync(host, alice, Bytes(100, 1));
        string url = await UrlAsync(upload);
        using var http = new HttpClient { BaseAddress = host.HttpUri };

        time.Advance(TimeSpan.FromHours(23));
        using var young = await http.GetAsync(url);
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1)); // the default retention, 24 h, and a sweep
        using var old = await http.GetAsync(url);

        Assert.Multiple(() =>
        {
            Assert.That(young.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(young.Headers.CacheControl?.MaxAge, Is.EqualTo(TimeSpan.FromHours(1)), "browsers keep it no longer than the core does");
            Assert.That(old.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(StoredFiles(), Is.Empty, "the sweep deleted it");
        });
    }

    [Test]
    public async Task Restart_KeepsOwnersAndAges()
    {
        var time = new FakeTimeProvider(s_start);
        string url;
        await using (var first = await StartAsync(time, o => o.MaxFilesPerUser = 1))
        {
            using var upload = await UploadAsync(first, CoreSimFixture.Token(first, "alice"), Bytes(100, 1));
            url = await UrlAsync(upload);
        }

        time.Advance(TimeSpan.FromHours(12));
        await using var second = await StartAsync(time, o => o.MaxFilesPerUser = 1);
        using var http = new HttpClient { BaseAddress = second.HttpUri };
        using var kept = await http.GetAsync(url);
        using var overQuota = await UploadAsync(second, CoreSimFixture.Token(second, "alice"), Bytes(100, 2));
        time.Advance(TimeSpan.FromHours(12) + TimeSpan.FromMinutes(1));
        using var expired = await http.GetAsync(url);

        Assert.Multiple(() =>
        {
            Assert.That(kept.StatusCode, Is.EqualTo(HttpStatusCode.OK), "served after the restart");
            Assert.That(overQuota.StatusCode, Is.EqualTo(HttpStatusCode.InsufficientStorage), "alice's file still counts against her quota");
            Assert.That(expired.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "24 h after its upload, not after the restart");
            Assert.That(StoredFiles(), Is.Empty);
        });
    }

    private Task<CoreSimHost> StartAsync(TimeProvider time, Action<CoreSimOptions>? configure = null) =>
        CoreSimFixture.StartAsync(time, o =>
        {
            o.FilesPath = _folder;
            configure?.Invoke(o);
        });

    /// <summary>The stored files' ids (64 hex characters) in the files folder.</summary>
    private List<string> StoredFiles() =>
        Directory.EnumerateFiles(_folder).Select(Path.GetFileName).Where(n => n!.Length == 64 && n.All(char.IsAsciiHexDigitLower)).ToList()!;

    [Test]
    [CancelAfter(60_000)]
    public async Task UploadsThatDeclareBytesAndSendFew_DoNotTakeTheRoomOfOtherUsers(CancellationToken ct)
    {
        // A review found an upload charged its whole Content-Length before any byte came: two users trickling a few bytes
        // (Kestrel's minimum rate lets one last days) held every byte of MaxTotalFileBytes and everyone else got 507.
        await using var host = await StartAsync(new FakeTimeProvider(s_start), o =>
        {
            o.MaxFileBytes = 1000;
            o.MaxFileBytesPerUser = 1000;
            o.MaxTotalFileBytes = 2000;
        });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var held = new[] { "mallory-1", "mallory-2" }.Select(sub => SendHeldAsync(host, CoreSimFixture.Token(host, sub), Bytes(1000, 1), gate.Task, stop.Token)).ToArray();
        for (int i = 0; i < 200 && Directory.EnumerateFiles(_folder, "upload-*").Count() < 2; i++)
        {
            await Task.Delay(50, ct);
        }

        using var alice = await UploadAsync(host, CoreSimFixture.Token(host, "alice"), Bytes(10, 2));
        gate.TrySetResult();
        await Task.WhenAll(held);
        Assert.That(alice.StatusCode, Is.EqualTo(HttpStatusCode.Created), "200 bytes have arrived and nothing is kept: alice's 10 bytes fit");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task UploadsInProgress_PerUser_AreCapped_429_OtherUsersUpload(CancellationToken ct)
    {
        await using var host = await StartAsync(new FakeTimeProvider(s_start), o => o.MaxUploadsPerUser = 2);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string alice = CoreSimFixture.Token(host, "alice");
        var held = Enumerable.Range(0, 2).Select(i => SendHeldAsync(host, alice, Bytes(500, i), gate.Task, ct)).ToArray();
        for (int i = 0; i < 200 && Directory.EnumerateFiles(_folder, "upload-*").Count() < 2; i++)
        {
            await Task.Delay(50, ct);
        }

        using var third = await UploadAsync(host, alice, Bytes(10, 3));
        using var bob = await UploadAsync(host, CoreSimFixture.Token(host, "bob"), Bytes(10, 4));
        string error = third.StatusCode == HttpStatusCode.TooManyRequests ? await ErrorAsync(third) : string.Empty;
        gate.TrySetResult();
        var statuses = await Task.WhenAll(held);
        using var after = await UploadAsync(host, alice, Bytes(10, 5));
        Assert.Multiple(() =>
        {
            Assert.That(third.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(error, Does.Contain("MaxUploadsPerUser"));
            Assert.That(bob.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(statuses, Is.All.EqualTo(HttpStatusCode.Created));
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Created), "once they end, alice uploads again");
        });
    }

    [Test]
    public async Task Quotas_ArePerSiteAndSub_TheSameSubOnAnotherSiteIsAnotherUser()
    {
        await using var host = await StartAsync(new FakeTimeProvider(s_start), o => o.MaxFilesPerUser = 1);
        using var first = await UploadAsync(host, CoreSimFixture.Token(host, "alice", site: "s1"), Bytes(10, 1));
        using var again = await UploadAsync(host, CoreSimFixture.Token(host, "alice", site: "s1"), Bytes(10, 2));
        using var otherSite = await UploadAsync(host, CoreSimFixture.Token(host, "alice", site: "s2"), Bytes(10, 3));
        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.InsufficientStorage), "s1's alice has her one file");
            Assert.That(otherSite.StatusCode, Is.EqualTo(HttpStatusCode.Created), "s2's alice is someone else");
        });
    }

    private static byte[] Bytes(int length, int seed) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 + seed * 7 + seed)).ToArray();

    private static async Task<HttpResponseMessage> UploadAsync(CoreSimHost host, string token, byte[] body, bool chunked = false)
    {
        using var http = new HttpClient { BaseAddress = host.HttpUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files") { Content = chunked ? new HeldContent(body, Task.CompletedTask, knownLength: false) : new ByteArrayContent(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    /// <summary>An upload whose body waits for <paramref name="gate"/> after its first bytes: the status, or 0 when the core cut it.</summary>
    private static async Task<HttpStatusCode> SendHeldAsync(CoreSimHost host, string token, byte[] body, Task gate, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(1) }) { BaseAddress = host.HttpUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files") { Content = new HeldContent(body, gate, knownLength: true) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.ExpectContinue = true;
        try
        {
            using var response = await http.SendAsync(request, ct);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    private static async Task<string> ErrorAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!;

    private static async Task<string> UrlAsync(HttpResponseMessage upload)
    {
        Assert.That(upload.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        return JsonDocument.Parse(await upload.Content.ReadAsStringAsync()).RootElement.GetProperty("url").GetString()!;
    }

    /// <summary>A body sent as its first 100 bytes, then (after <c>gate</c>) the rest; chunked unless the length is known.</summary>
    private sealed class HeldContent(byte[] body, Task gate, bool knownLength) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            int first = Math.Min(100, body.Length);
            await stream.WriteAsync(body.AsMemory(0, first));
            await stream.FlushAsync();
            await gate;
            await stream.WriteAsync(body.AsMemory(first));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return knownLength;
        }
    }
}
