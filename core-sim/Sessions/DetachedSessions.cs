namespace Relay.CoreSim.Sessions;

/// <summary>
/// The detached sessions (waiting for a resume), oldest first, per user (site and sub) and in all, so the registry can
/// keep at most CoreSim:MaxDetachedSessionsPerUser of one user's and CoreSim:MaxDetachedSessions in all: a client that
/// connects and drops in a loop leaves sessions behind for SessionRetention, each a member of its rooms (every message to
/// them is queued for it). O(1) per detach, resume and end, under one lock; not on the message path.
/// </summary>
internal sealed class DetachedSessions(int perUser, int total)
{
    private readonly object _gate = new();
    private readonly LinkedList<Session> _all = new();
    private readonly Dictionary<(string Site, string Sub), LinkedList<Session>> _byUser = [];

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _all.Count;
            }
        }
    }

    /// <summary>The session has just detached: adds it (when it is still detached) and returns the sessions to end, the
    /// longest detached of its user past the cap per user, then of anyone past the cap in all (already taken out).</summary>
    public List<Session>? Add(Session session)
    {
        List<Session>? evict = null;
        lock (_gate)
        {
            if (session.AllNode is not null || session.Attached is not null || session.IsEnded)
            {
                return null; // resumed (or ended) meanwhile, or already here
            }

            var key = (session.Claims.Site, session.Claims.Subject);
            if (!_byUser.TryGetValue(key, out var mine))
            {
                _byUser[key] = mine = new LinkedList<Session>();
            }

            session.UserNode = mine.AddLast(session);
            session.AllNode = _all.AddLast(session);
            while (mine.Count > perUser)
            {
                EvictLocked(mine.First!.Value, ref evict);
            }

            while (_all.Count > total)
            {
                EvictLocked(_all.First!.Value, ref evict);
            }
        }

        return evict;
    }

    /// <summary>The session attached again (a resume) or ended: it no longer counts.</summary>
    public void Remove(Session session)
    {
        lock (_gate)
        {
            RemoveLocked(session);
        }
    }

    /// <summary>Takes the oldest out; it is to end unless a resume attached it meanwhile (its <see cref="Remove"/> is on
    /// its way: between the resume's Attach and its Resumed call).</summary>
    private void EvictLocked(Session oldest, ref List<Session>? evict)
    {
        RemoveLocked(oldest);
        if (oldest.Attached is null)
        {
            (evict ??= []).Add(oldest);
        }
    }

    private void RemoveLocked(Session session)
    {
        if (session.AllNode is { } all)
        {
            _all.Remove(all);
            session.AllNode = null;
        }

        if (session.UserNode is { } node)
        {
            var list = node.List!;
            list.Remove(node);
            session.UserNode = null;
            if (list.Count == 0)
            {
                _byUser.Remove((session.Claims.Site, session.Claims.Subject));
            }
        }
    }
}
