namespace Relay.Gateway.Tokens;

internal sealed partial class TokenKeySource
{
    private static partial class Log
    {
        [LoggerMessage(1700, LogLevel.Debug, "Token keys: {Count} from the JWKS ({KeyIds})")]
        public static partial void Fetched(ILogger logger, int count, string keyIds);

        [LoggerMessage(1701, LogLevel.Warning, "Token keys: cannot get the JWKS from {Url}: {Error}")]
        public static partial void FetchFailed(ILogger logger, string url, string error);

        [LoggerMessage(1702, LogLevel.Information, "Token keys: the JWKS from {Url} is back")]
        public static partial void Recovered(ILogger logger, string url);

        [LoggerMessage(1703, LogLevel.Debug, "Token keys: a token names unknown kid {Kid}; fetching the JWKS again")]
        public static partial void UnknownKid(ILogger logger, string kid);
    }
}
