using Microsoft.Extensions.Time.Testing;
using Relay.CoreSim.Sessions;

namespace Relay.CoreSim.Tests.Sessions;

/// <summary>
/// The rooms' history (GET /api/rooms/{room}/history) was bounded by count only: HistoryPerRoom (200) messages in
/// HistoryMaxRooms (10,000) rooms, each up to MaxMessageBytes (64 KiB), so about 250 GiB of strings at the defaults,
/// written by anyone who may send to rooms (in Development any visitor token, over the backhaul any relay's claims).
/// </summary>
public class RoomHistoryTests
{
    [Test]
    public void HistoryOverItsByteBudget_ForgetsTheRoomsWrittenLongestAgo()
    {
        var time = new FakeTimeProvider();
        const long Budget = 1 << 20;
        var history = new RoomHistory(perRoom: 200, maxRooms: 10_000, Budget, time);
        string body = $"\"{new string('x', 8 * 1024)}\"";
        var keys = Enumerable.Range(0, 100).Select(i => new RoomKey("s1", $"room-{i}")).ToArray();
        foreach (var key in keys)
        {
            for (int m = 0; m < 20; m++)
            {
                history.Add(key, "o1", body);
                time.Advance(TimeSpan.FromMilliseconds(1));
            }
        }

        // 100 rooms × 20 messages × 8 KiB: 16 MiB of UTF-16 written, at most the budget (and one message) kept.
        long kept = keys.Sum(k => history.Page(k, null, 1000).Sum(e => 2L * (e.BodyJson.Length + e.From.Length)));
        Assert.That(kept, Is.LessThanOrEqualTo(Budget + (2 * body.Length)), $"{kept} bytes of history kept");
        Assert.That(history.Bytes, Is.LessThanOrEqualTo(Budget + (2 * body.Length) + 1024));
        Assert.That(history.Page(keys[^1], null, 1000), Has.Length.EqualTo(20), "the room written last keeps its messages");
        Assert.That(history.Page(keys[0], null, 1000), Is.Empty, "the room written longest ago is forgotten");
    }

    [Test]
    public void OneRoomOverTheBudget_KeepsItsNewestMessages()
    {
        var time = new FakeTimeProvider();
        var history = new RoomHistory(perRoom: 200, maxRooms: 10_000, 1 << 20, time);
        var key = new RoomKey("s1", "big");
        string body = $"\"{new string('x', 60 * 1024)}\"";
        long last = 0;
        for (int m = 0; m < 200; m++)
        {
            last = history.Add(key, "o1", body);
        }

        var page = history.Page(key, null, 1000);
        Assert.That(page.Length, Is.InRange(1, 9), "about 1 MiB of 120 KiB strings");
        Assert.That(page[^1].Id, Is.EqualTo(last), "the newest is kept");
        Assert.That(history.Bytes, Is.LessThanOrEqualTo((1 << 20) + (2 * body.Length) + 1024));
    }
}
