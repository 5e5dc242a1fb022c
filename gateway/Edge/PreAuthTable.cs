using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// The pre-auth connections by client address, oldest first, with the addresses ranked by how many they hold (an
/// LFU-style list of buckets: finding the address holding the most is O(1)). Not thread-safe: the
/// <see cref="ConnectionGate"/> holds its lock around every call.
/// </summary>
internal sealed class PreAuthTable
{
    private readonly Dictionary<IPAddress, Holder> _byAddress = [];
    private readonly List<LinkedList<Holder>> _byCount = [new()]; // index: connections held; [0] stays empty
    private int _most;

    /// <summary>The most pre-auth connections any one address holds.</summary>
    public int Most => _most;

    /// <summary>Pre-auth connections in the table.</summary>
    public int Count { get; private set; }

    /// <summary>Pre-auth connections from <paramref name="address"/>.</summary>
    public int CountOf(IPAddress address) => _byAddress.TryGetValue(address, out var holder) ? holder.Slots.Count : 0;

    public void Add(PreAuthSlot slot)
    {
        if (!_byAddress.TryGetValue(slot.Address, out var holder))
        {
            holder = new Holder();
            _byAddress.Add(slot.Address, holder);
        }

        Unrank(holder);
        slot.Node = holder.Slots.AddLast(slot);
        Rank(holder);
        _most = Math.Max(_most, holder.Slots.Count);
        Count++;
    }

    /// <summary>Takes a slot out; false when it was not in (already removed or evicted).</summary>
    public bool Remove(PreAuthSlot slot)
    {
        if (slot.Node?.List is not { } slots || !_byAddress.TryGetValue(slot.Address, out var holder) || !ReferenceEquals(slots, holder.Slots))
        {
            return false;
        }

        Unrank(holder);
        slots.Remove(slot.Node);
        slot.Node = null;
        Count--;
        if (slots.Count == 0)
        {
            _byAddress.Remove(slot.Address);
        }
        else
        {
            Rank(holder);
        }

        while (_most > 0 && _byCount[_most].Count == 0)
        {
            _most--;
        }

        return true;
    }

    /// <summary>Takes out the oldest slot of the address holding the most (of those, the one that got there first); null when empty.</summary>
    public PreAuthSlot? RemoveVictim()
    {
        if (_most == 0)
        {
            return null;
        }

        var victim = _byCount[_most].First!.Value.Slots.First!.Value;
        Remove(victim);
        return victim;
    }

    private void Unrank(Holder holder)
    {
        if (holder.Rank is { } node)
        {
            _byCount[holder.Slots.Count].Remove(node);
            holder.Rank = null;
        }
    }

    private void Rank(Holder holder)
    {
        int count = holder.Slots.Count;
        while (_byCount.Count <= count)
        {
            _byCount.Add(new LinkedList<Holder>());
        }

        holder.Rank = _byCount[count].AddLast(holder);
    }

    private sealed class Holder
    {
        public LinkedList<PreAuthSlot> Slots { get; } = new();

        public LinkedListNode<Holder>? Rank { get; set; }
    }
}
