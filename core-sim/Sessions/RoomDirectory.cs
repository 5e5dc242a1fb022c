using System.Collections.Concurrent;

namespace Relay.CoreSim.Sessions;

/// <summary>Rooms and their member sessions, keyed by site and name. A room is removed when its last member leaves.</summary>
internal sealed class RoomDirectory
{
    private readonly ConcurrentDictionary<RoomKey, Room> _rooms = new();

    public static RoomKey Key(string site, string room) => new(site, room);

    public void Join(RoomKey key, Session session)
    {
        while (true)
        {
            var room = _rooms.GetOrAdd(key, _ => new Room());
            lock (room)
            {
                // A room removed between the lookup and the lock is gone: join its successor.
                if (!room.Removed)
                {
                    room.Members.Add(session);
                    return;
                }
            }
        }
    }

    public void Leave(RoomKey key, Session session)
    {
        if (_rooms.TryGetValue(key, out var room))
        {
            lock (room)
            {
                if (room.Members.Remove(session) && room.Members.Count == 0)
                {
                    room.Removed = true;
                    _rooms.TryRemove(new KeyValuePair<RoomKey, Room>(key, room));
                }
            }
        }
    }

    public Session[] Members(RoomKey key)
    {
        if (!_rooms.TryGetValue(key, out var room))
        {
            return [];
        }

        lock (room)
        {
            return [.. room.Members];
        }
    }

    public int Count => _rooms.Count;

    private sealed class Room
    {
        public HashSet<Session> Members { get; } = [];

        public bool Removed { get; set; }
    }
}
