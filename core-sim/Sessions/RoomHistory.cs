using System.Collections.Concurrent;

namespace Relay.CoreSim.Sessions;

/// <summary>One message of a room's history: its number in the room (from 1), sender, JSON body, time.</summary>
internal readonly record struct HistoryEntry(long Id, string From, string BodyJson, DateTimeOffset At);

/// <summary>
/// The last <c>perRoom</c> messages of each room (issue 18: <c>GET /api/rooms/{room}/history</c>), fed by every room
/// message, websocket or REST. Bounded: at most <c>perRoom</c> messages in at most <c>maxRooms</c> rooms, and at most
/// <c>maxBytes</c> of them (their strings, UTF-16, and a fixed overhead each); a new room beyond the count, or a message
/// beyond the bytes, pushes out the room written longest ago (a single room over the bytes keeps its newest messages).
/// The count alone let anyone who may send to rooms make the core keep about 250 GiB at the defaults (a review).
/// </summary>
internal sealed class RoomHistory(int perRoom, int maxRooms, long maxBytes, TimeProvider time)
{
    /// <summary>What an entry costs beside its strings: the entry, its queue slot, the string headers.</summary>
    private const int EntryOverhead = 96;

    private readonly ConcurrentDictionary<RoomKey, Log> _rooms = new();
    private long _bytes;

    /// <summary>What the history holds, as counted against <c>maxBytes</c>.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    public long Add(RoomKey key, string from, string bodyJson)
    {
        long size = EntryOverhead + (2L * (from.Length + bodyJson.Length));
        long id;
        while (true)
        {
            var log = _rooms.GetOrAdd(key, _ => new Log());
            lock (log)
            {
                if (log.Forgotten)
                {
                    continue; // pushed out meanwhile: a new log
                }

                id = ++log.LastId;
                log.Entries.Enqueue(new HistoryEntry(id, from, bodyJson, time.GetUtcNow()));
                log.Bytes += size;
                Interlocked.Add(ref _bytes, size);
                while (log.Entries.Count > perRoom || (log.Bytes > maxBytes && log.Entries.Count > 1))
                {
                    var dropped = log.Entries.Dequeue();
                    long droppedSize = EntryOverhead + (2L * (dropped.From.Length + dropped.BodyJson.Length));
                    log.Bytes -= droppedSize;
                    Interlocked.Add(ref _bytes, -droppedSize);
                }

                log.WrittenAt = time.GetTimestamp();
                break;
            }
        }

        while (_rooms.Count > maxRooms || Interlocked.Read(ref _bytes) > maxBytes)
        {
            if (Oldest(except: key) is not { } oldest)
            {
                break; // this room alone: trimmed above
            }

            Forget(oldest.Key, oldest.Value);
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

    /// <summary>The room written longest ago but <paramref name="except"/>, or null. A scan of every room (a simulator's
    /// history: a new room beyond the count or a message beyond the bytes pays it).</summary>
    private KeyValuePair<RoomKey, Log>? Oldest(RoomKey except)
    {
        KeyValuePair<RoomKey, Log>? oldest = null;
        foreach (var room in _rooms)
        {
            if (room.Key != except && (oldest is null || Volatile.Read(ref room.Value.WrittenAt) < Volatile.Read(ref oldest.Value.Value.WrittenAt)))
            {
                oldest = room;
            }
        }

        return oldest;
    }

    private void Forget(RoomKey key, Log log)
    {
        lock (log)
        {
            if (log.Forgotten || !_rooms.TryRemove(new KeyValuePair<RoomKey, Log>(key, log)))
            {
                return;
            }

            log.Forgotten = true;
            Interlocked.Add(ref _bytes, -log.Bytes);
            log.Entries.Clear();
            log.Bytes = 0;
        }
    }

    private sealed class Log
    {
        public Queue<HistoryEntry> Entries { get; } = new();

        public long LastId;

        public long WrittenAt;

        public long Bytes;

        public bool Forgotten;
    }
}
