namespace Relay.CoreSim.Cluster;

/// <summary>
/// The Lua scripts the cluster runs in Redis. Each runs atomically, so a client message's dedupe (the session's
/// inbound seq), its appends to every recipient's history stream and the wake-ups of their nodes happen all or not at
/// all: the ack the client gets afterwards means the message is in every recipient's history.
/// Keys (prefix P): P s:ID hash {tok, sub, site, role, in, out, end?}; P s:ID:h history stream (entry id OUTSEQ-1,
/// fields r, f, b); P s:ID:r set of room names; P s:ID:own the owning node (lease); P room:LEN:SITE:ROOM set of
/// session ids; P nodes hash node → JSON; channel P node:NODE carries "w:ID" (new history) and "f:ID" (fenced).
/// </summary>
internal static class ClusterScripts
{
    /// <summary>ARGV: prefix, session, node, seq, room key ('' = echo), room, from, body, max history entries, history TTL ms,
    /// lease ms, max history bytes, room history length, now (Unix ms). A room message also goes into the room's history
    /// (<see cref="RoomHistoryAppend"/>). A recipient's history holds at most that many entries and bytes (its hash's <c>hb</c>: the
    /// bytes of room, sender and body of what its history holds, lowered by <see cref="Trim"/>); one more ends it
    /// (<c>buffer_overflow</c>), whether a node serves it or not. Returns {1, local targets…} (new), {0} duplicate, {-1} gap, {-2} another node owns the session, {-3} the
    /// session ended or expired. A session nobody owns (its lease ran out while the broker was away) is taken by this node:
    /// only another node's lease refuses the sender.</summary>
    public const string Dispatch = """
        local p, id, node = ARGV[1], ARGV[2], ARGV[3]
        local seq = tonumber(ARGV[4])
        local roomKey, room, from, body = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
        local maxLen, ttl, lease, maxBytes = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12])
        local historyMax, now = tonumber(ARGV[13]), ARGV[14]
        local size = string.len(body) + (roomKey == '' and 0 or string.len(room) + string.len(from))
        local s = p .. 's:' .. id
        local st = redis.call('HMGET', s, 'in', 'end')
        if (not st[1]) or st[2] then return {-3} end
        local owner = redis.call('GET', s .. ':own')
        if owner and owner ~= node then return {-2} end
        if not owner then redis.call('SET', s .. ':own', node, 'PX', lease) end
        local last = tonumber(st[1])
        if seq <= last then return {0} end
        if seq ~= last + 1 then return {-1} end
        redis.call('HSET', s, 'in', seq)
        local out = {1}
        """ + "\n" + RoomHistoryAppend + "\n" + FanOut + "\n" + """
        return out
        """;

    /// <summary>ARGV: prefix, room key, room, from, body, max history entries, history TTL ms, max history bytes, node,
    /// room history length, now (Unix ms). A message posted by REST (issue 18) in cluster mode: into the room's history and
    /// every member's, as a member's websocket message would be (no sender to skip or deduplicate). Returns {room history
    /// id, members it went to, local targets…}.</summary>
    public const string Post = """
        local p, roomKey, room, from, body = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
        local maxLen, ttl, maxBytes, node = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), ARGV[9]
        local historyMax, now = tonumber(ARGV[10]), ARGV[11]
        local size = string.len(body) + string.len(room) + string.len(from)
        local id = ''
        local out = {0, 0}
        """ + "\n" + RoomHistoryAppend + "\n" + FanOut + "\n" + """
        out[1] = rid
        out[2] = delivered
        return out
        """;

    /// <summary>Appends a room message to the room's history (issue 18: <c>GET /api/rooms/{room}/history</c>), a stream
    /// beside the room's member set (entry id N-1, N the room's message number; fields f, b, t) of at most
    /// <c>historyMax</c> messages and <c>maxBytes</c> bytes of sender and body (<c>:hb</c>), the oldest dropped first, kept
    /// twice the session retention after its last message. Sets <c>rid</c> (0 without a room).</summary>
    private const string RoomHistoryAppend = """
        local rid = 0
        if roomKey ~= '' then
          local rh = roomKey .. ':h'
          rid = redis.call('INCR', roomKey .. ':n')
          redis.call('XADD', rh, rid .. '-1', 'f', from, 'b', body, 't', now)
          local held = redis.call('INCRBY', roomKey .. ':hb', string.len(from) + string.len(body))
          while held > maxBytes or redis.call('XLEN', rh) > historyMax do
            local oldest = redis.call('XRANGE', rh, '-', '+', 'COUNT', 1)
            if #oldest == 0 then break end
            local f = oldest[1][2]
            local n = 0
            for i = 2, #f, 2 do if f[i - 1] ~= 't' then n = n + string.len(f[i]) end end
            redis.call('XDEL', rh, oldest[1][1])
            held = redis.call('INCRBY', roomKey .. ':hb', -n)
          end
          redis.call('PEXPIRE', rh, ttl * 2)
          redis.call('PEXPIRE', roomKey .. ':n', ttl * 2)
          redis.call('PEXPIRE', roomKey .. ':hb', ttl * 2)
        end
        """;

    /// <summary>Appends the message to each recipient's history (the room's members but <c>id</c>, or <c>id</c> alone
    /// without a room) within its caps, wakes the nodes that serve them, adds this node's to <c>out</c>, and counts in
    /// <c>delivered</c> the histories it went into.</summary>
    private const string FanOut = """
        local targets
        if roomKey == '' then targets = {id} else targets = redis.call('SMEMBERS', roomKey) end
        local delivered = 0
        for _, t in ipairs(targets) do
          if roomKey == '' or t ~= id then
            local k = p .. 's:' .. t
            local e = redis.call('HMGET', k, 'out', 'end', 'hb')
            if not e[1] then
              if roomKey ~= '' then redis.call('SREM', roomKey, t) end
            elseif not e[2] then
              local h = k .. ':h'
              if redis.call('XLEN', h) >= maxLen or (tonumber(e[3]) or 0) + size > maxBytes then
                redis.call('HSET', k, 'end', 'buffer_overflow')
              else
                redis.call('HINCRBY', k, 'hb', size)
                delivered = delivered + 1
                local n = redis.call('HINCRBY', k, 'out', 1)
                if roomKey == '' then
                  redis.call('XADD', h, n .. '-1', 'b', body)
                else
                  redis.call('XADD', h, n .. '-1', 'r', room, 'f', from, 'b', body)
                end
                redis.call('PEXPIRE', h, ttl)
              end
              local o = redis.call('GET', k .. ':own')
              if o == node then
                out[#out + 1] = t
              elseif o then
                redis.call('PUBLISH', p .. 'node:' .. o, 'w:' .. t)
              end
            end
          end
        end
        """;

    /// <summary>ARGV: prefix, node, lease ms, session TTL ms, session ids…. For each session this node serves: keeps its lease
    /// (and its keys' TTL) when it is this node's, takes it when nobody holds it (it ran out while the broker was away or
    /// slow). Returns {id, state, …} for the sessions whose lease was not simply kept: 'taken' (another node owns it: the
    /// client resumed there), 'gone' (the broker does not know the session: it expired, or the broker restarted without
    /// persistence), 'retaken' (nobody held it: this node took it; wake-ups sent meanwhile went nowhere).</summary>
    public const string Renew = """
        local p, node = ARGV[1], ARGV[2]
        local lease, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
        local out = {}
        for i = 5, #ARGV do
          local id = ARGV[i]
          local s = p .. 's:' .. id
          local o = redis.call('GET', s .. ':own')
          if o and o ~= node then
            out[#out + 1] = id
            out[#out + 1] = 'taken'
          elseif redis.call('EXISTS', s) == 0 then
            out[#out + 1] = id
            out[#out + 1] = 'gone'
          else
            redis.call('SET', s .. ':own', node, 'PX', lease)
            redis.call('PEXPIRE', s, ttl)
            redis.call('PEXPIRE', s .. ':h', ttl)
            redis.call('PEXPIRE', s .. ':r', ttl)
            if not o then
              out[#out + 1] = id
              out[#out + 1] = 'retaken'
            end
          end
        end
        return out
        """;

    /// <summary>ARGV: session key, acknowledged seq. Drops the history the client acknowledged (entries up to that seq) and
    /// takes their bytes off the session's <c>hb</c>, so the byte cap counts what is held, not what was ever sent.</summary>
    public const string Trim = """
        local s, ack = ARGV[1], tonumber(ARGV[2])
        local h = s .. ':h'
        local gone = redis.call('XRANGE', h, '-', ack .. '-1')
        if #gone == 0 then return 0 end
        local bytes = 0
        for _, entry in ipairs(gone) do
          local fields = entry[2]
          for i = 2, #fields, 2 do bytes = bytes + string.len(fields[i]) end
        end
        redis.call('XTRIM', h, 'MINID', (ack + 1) .. '-0')
        if redis.call('EXISTS', s) == 1 then
          local left = redis.call('HINCRBY', s, 'hb', -bytes)
          if left < 0 then redis.call('HSET', s, 'hb', 0) end
        end
        return #gone
        """;

    /// <summary>ARGV: prefix, session, node, site. Deletes the session's keys and room memberships unless another node owns it. 1 when deleted.</summary>
    public const string End = """
        local p, id, node, site = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
        local s = p .. 's:' .. id
        local o = redis.call('GET', s .. ':own')
        if o and o ~= node then return 0 end
        for _, r in ipairs(redis.call('SMEMBERS', s .. ':r')) do
          redis.call('SREM', p .. 'room:' .. string.len(site) .. ':' .. site .. ':' .. r, id)
        end
        redis.call('DEL', s, s .. ':h', s .. ':r', s .. ':own')
        return 1
        """;
}
