using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Contracts.Logging;

/// <summary>
/// The host's logger factory, with every logger but the host's own (categories other than <c>Relay.*</c>: hosting's
/// request lines, Kestrel, YARP's forwarder, HttpClient) wrapped so that an <c>access_token=</c> value in a request line
/// or URL never reaches a log. The host's own loggers are the inner factory's, untouched: none of them logs a token.
/// Used by the gateway and core-sim, which both take the token in the <c>/ws</c> URL (and the edge's HTTP API in the
/// query). Only <c>Microsoft.*</c> was wrapped before: YARP logged forwarded URLs with their tokens (a review found it).
/// Those loggers also log at most 20 entries of one event per 10 s (<see cref="RedactingLogger"/>: a flood guard).
/// </summary>
public sealed class RedactingLoggerFactory : ILoggerFactory
{
    private readonly ILoggerFactory _inner;
    private readonly TimeProvider _time;

    private RedactingLoggerFactory(ILoggerFactory inner, TimeProvider time)
    {
        _inner = inner;
        _time = time;
    }

    /// <summary>Wraps <paramref name="inner"/> (tools and tests; hosts use <see cref="Register"/>).</summary>
    public static ILoggerFactory Wrap(ILoggerFactory inner, TimeProvider? time = null) => new RedactingLoggerFactory(inner, time ?? TimeProvider.System);

    /// <summary>
    /// Wraps the host's <see cref="ILoggerFactory"/> (registered by the host builder's logging, which must run first)
    /// in one that redacts. The host's factory is still built by the container, from the same registration.
    /// </summary>
    public static void Register(IServiceCollection services)
    {
        var original = services.LastOrDefault(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService)
            ?? throw new InvalidOperationException("no ILoggerFactory registered: add logging before RedactingLoggerFactory.Register");
        services.Remove(original);
        if (original.ImplementationType is { } type)
        {
            services.Add(ServiceDescriptor.Singleton(type, type));
        }

        services.AddSingleton<ILoggerFactory>(sp => new RedactingLoggerFactory(
            original switch
            {
                { ImplementationType: { } t } => (ILoggerFactory)sp.GetRequiredService(t),
                { ImplementationInstance: ILoggerFactory instance } => instance,
                _ => (ILoggerFactory)original.ImplementationFactory!(sp),
            },
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
    }

    public ILogger CreateLogger(string categoryName)
    {
        var logger = _inner.CreateLogger(categoryName);
        return categoryName.StartsWith("Relay.", StringComparison.Ordinal) ? logger : new RedactingLogger(logger, _time);
    }

    public void AddProvider(ILoggerProvider provider) => _inner.AddProvider(provider);

    public void Dispose() => _inner.Dispose();
}
