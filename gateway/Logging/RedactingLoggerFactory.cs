using Microsoft.Extensions.Options;

namespace Relay.Gateway.Logging;

/// <summary>
/// The host's logger factory, with the framework's loggers (categories <c>Microsoft.*</c>: hosting's request lines,
/// Kestrel) wrapped so that an <c>access_token=</c> value in a request line or URL never reaches a log. The gateway's
/// own loggers are the inner factory's, untouched: none of them logs a token.
/// </summary>
internal sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    /// <summary>Replaces the host's <see cref="ILoggerFactory"/> with one that redacts.</summary>
    public static void Register(IServiceCollection services) =>
        services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory(new LoggerFactory(
            sp.GetServices<ILoggerProvider>(),
            sp.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            sp.GetService<IOptions<LoggerFactoryOptions>>(),
            sp.GetService<IExternalScopeProvider>())));

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName.StartsWith("Microsoft.", StringComparison.Ordinal) ? new RedactingLogger(logger) : logger;
    }

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();
}
