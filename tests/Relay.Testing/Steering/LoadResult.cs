namespace Relay.Testing.Steering;

/// <summary>What a load run counted.</summary>
public sealed record LoadResult(long Sent, long Lost, long Duplicated, long OutOfOrder);
