using System.Collections.Concurrent;

namespace Relay.CoreSim.Sessions;

/// <summary>Rooms and their member sessions. A room name is scoped by the site claim.</summary>
internal sealed class RoomDirectory
{
    private readonly ConcurrentDictionary<string, HashSet<Session>> _rooms = new(StringComparer.Ordinal);

    public static string Key(string site, string room) => site + "\u001f" + room;

    public void Join(string key, Session session)
    {
        var members = _rooms.GetOrAdd(key, _ => []);
        lock (members)
        {
            members.Add(session);
        }
    }

    public void Leave(string key, Session session)
    {
        if (_rooms.TryGetValue(key, out var members))
        {
            lock (members)
            {
                members.Remove(session);
            }
        }
    }

    public Session[] Members(string key)
    {
        if (!_rooms.TryGetValue(key, out var members))
        {
            return [];
        }

        lock (members)
        {
            return [.. members];
        }
    }

    public int Count => _rooms.Count;
}
