using System.Collections.Concurrent;

namespace Relay.CoreSim.Sessions;

/// <summary>One message of a room's history: its number in the room (from 1), sender, JSON body, time.</summary>
internal readonly record struct HistoryEntry(long Id, string From, string BodyJson, DateTimeOffset At);

/// <summary>
/// The last <c>perRoom</c> messages of each room (issue 18: <c>GET /api/rooms/{room}/history</c>), fed by every room
/// message, websocket or REST. Bounded: at most <c>perRoom</c> messages in at most <c>maxRooms</c> rooms; a new room
/// beyond that pushes out the room written longest ago.
/// </summary>
internal sealed class RoomHistory(int perRoom, int maxRooms, TimeProvider time)
{
    private readonly ConcurrentDictionary<RoomKey, Log> _rooms = new();

    public long Add(RoomKey key, string from, string bodyJson)
    {
        var log = _rooms.GetOrAdd(key, _ => new Log());
        long id;
        lock (log)
        {
            id = ++log.LastId;
            log.Entries.Enqueue(new HistoryEntry(id, from, bodyJson, time.GetUtcNow()));
            while (log.Entries.Count > perRoom)
            {
                log.Entries.Dequeue();
            }

            log.WrittenAt = time.GetTimestamp();
        }

        if (_rooms.Count > maxRooms && _rooms.MinBy(r => Volatile.Read(ref r.Value.WrittenAt)) is { Key: var oldest } && oldest != key)
        {
            _rooms.TryRemove(oldest, out _);
        }

        return id;
    }

    /// <summary>Up to <paramref name="limit"/> messages older than <paramref name="before"/> (all when null), oldest first.</summary>
    public HistoryEntry[] Page(RoomKey key, long? before, int limit)
    {
        if (!_rooms.TryGetValue(key, out var log))
        {
            return [];
        }

        lock (log)
        {
            var older = log.Entries.Where(e => before is null || e.Id < before).ToArray();
            return older.Length <= limit ? older : older[^limit..];
        }
    }

    private sealed class Log
    {
        public Queue<HistoryEntry> Entries { get; } = new();

        public long LastId;

        public long WrittenAt;
    }
}
