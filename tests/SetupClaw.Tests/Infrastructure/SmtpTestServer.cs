using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using MimeKit;
using SetupClaw.Providers.Local;
using SmtpServer;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace SetupClaw.Tests.Infrastructure;

/// <summary>
/// A real SMTP server (the SmtpServer package) on a free loopback port, in the test process: every message it accepts
/// is parsed with MimeKit and kept. <see cref="RefuseNext"/> makes it refuse deliveries, to prove the outbox retries.
/// </summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Store store;
    private readonly Task running;

    private SmtpTestServer(int port)
    {
        Port = port;
        store = new Store();
        var options = new SmtpServerOptionsBuilder().ServerName("localhost")
            .Endpoint(e => e.Endpoint(new IPEndPoint(IPAddress.Loopback, port)).IsSecure(false))
            .Build();
        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(store);
        running = new SmtpServer.SmtpServer(options, services).StartAsync(stop.Token);
    }

    public int Port { get; }

    public IReadOnlyCollection<MimeMessage> Messages => store.Messages.ToArray();

    /// <summary>The settings that send a host's emails here.</summary>
    public IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Email__SmtpHost"] = "127.0.0.1",
        ["Email__SmtpPort"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Email__SmtpSecurity"] = "none",
        ["Email__RetryAfter"] = "00:00:01",
    };

    public static SmtpTestServer Start() => new(LoopbackPorts.Free());

    /// <summary>The next <paramref name="count"/> deliveries are refused with a transient 451.</summary>
    public void RefuseNext(int count) => Interlocked.Exchange(ref store.Refusals, count);

    public int Refused => Volatile.Read(ref store.RefusedCount);

    /// <summary>The template an email was made from (its <c>X-SetupClaw-Kind</c> header: welcome, sign_in, …).</summary>
    public static string Kind(MimeMessage message) => message.Headers["X-SetupClaw-Kind"] ?? "";

    public static string To(MimeMessage message) => message.To.Mailboxes.Single().Address;

    /// <summary>The emails of <paramref name="kind"/> (any, when null) received for <paramref name="email"/>, in the order they arrived.</summary>
    public List<MimeMessage> MessagesTo(string email, string? kind = null) =>
        [.. Messages.Where(m => To(m) == email && (kind is null || Kind(m) == kind))];

    /// <summary>The first email of <paramref name="kind"/> for <paramref name="email"/>, once it has arrived.</summary>
    public async Task<MimeMessage> WaitForAsync(string email, string kind, TimeSpan timeout)
    {
        await Wait.UntilAsync(() => Task.FromResult(MessagesTo(email, kind).Count > 0), timeout, $"the {kind} email to {email}");
        return MessagesTo(email, kind)[0];
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await running;
        }
        catch (OperationCanceledException)
        {
        }

        stop.Dispose();
    }

    private sealed class Store : MessageStore
    {
        public readonly ConcurrentQueue<MimeMessage> Messages = new();
        public int Refusals;
        public int RefusedCount;

        public override async Task<SmtpResponse> SaveAsync(
            ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            if (Interlocked.Decrement(ref Refusals) >= 0)
            {
                Interlocked.Increment(ref RefusedCount);
                return new SmtpResponse(SmtpReplyCode.Aborted, "try again later (test refusal)");
            }

            Interlocked.Exchange(ref Refusals, 0);
            using var stream = new MemoryStream(buffer.ToArray());
            Messages.Enqueue(await MimeMessage.LoadAsync(stream, cancellationToken));
            return SmtpResponse.Ok;
        }
    }
}
