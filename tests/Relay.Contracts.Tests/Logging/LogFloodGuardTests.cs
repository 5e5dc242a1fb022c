using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Relay.Contracts.Logging;

namespace Relay.Contracts.Tests.Logging;

/// <summary>
/// The hosts' framework loggers log at most 20 entries of one event per 10 s, then say how many they left out: a client
/// could make a framework log without end (one HTTP/2 rapid-reset connection: 91 Critical entries from Kestrel, each
/// with its stack trace). The hosts' own loggers (<c>Relay.*</c>) are not limited.
/// </summary>
public class LogFloodGuardTests
{
    private sealed class Capture : ILoggerFactory
    {
        public List<(string Category, LogLevel Level, int Event, string Message)> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private sealed class Logger(Capture capture, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (capture.Entries)
                {
                    capture.Entries.Add((category, logLevel, eventId.Id, formatter(state, exception)));
                }
            }
        }
    }

    [Test]
    public void AFrameworkEventLoggedAThousandTimes_IsLoggedTwenty_AndTheNextWindowSaysHowManyWereLeftOut()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var capture = new Capture();
        using var factory = RedactingLoggerFactory.Wrap(capture, time);
        var kestrel = factory.CreateLogger("Microsoft.AspNetCore.Server.Kestrel.Http2");
        var relay = factory.CreateLogger("Relay.Gateway.Sessions.SessionEndpoint");

        for (int i = 0; i < 1000; i++)
        {
            kestrel.Log(LogLevel.Critical, new EventId(60), "connection error {N}", i);
            relay.Log(LogLevel.Information, new EventId(1000), "session {N}", i);
        }

        kestrel.Log(LogLevel.Warning, new EventId(61), "another event");
        time.Advance(TimeSpan.FromSeconds(10));
        kestrel.Log(LogLevel.Critical, new EventId(60), "connection error {N}", 1000);

        var http2 = capture.Entries.Where(e => e.Category.StartsWith("Microsoft", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(http2.Count(e => e.Event == 60 && e.Level == LogLevel.Critical), Is.EqualTo(21), "20 in the first 10 s, then the next");
            Assert.That(http2.Single(e => e.Level == LogLevel.Warning && e.Event == 60).Message, Does.StartWith("980 more entries of event 60 were not logged"));
            Assert.That(http2.Count(e => e.Event == 61), Is.EqualTo(1), "another event has its own count");
            Assert.That(capture.Entries.Count(e => e.Category.StartsWith("Relay.", StringComparison.Ordinal)), Is.EqualTo(1000), "Relay's own loggers are not limited");
        });
    }
}
