namespace SetupClaw.Providers.Neon;

/// <summary>
/// One write to the Neon project at a time from this process. Neon runs one operation per project at a time and
/// answers 423 to any write meanwhile: a burst of sign-ups that all write at once mostly waits out exponential
/// backoffs, and some exhaust every retry (found with 50 concurrent sagas: two customers failed at create_database).
/// Queued here, each write starts once the one before has finished. Writers in other processes still meet Neon's
/// 423, which the HTTP pipeline retries.
/// </summary>
internal sealed class NeonWriteGate : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);

    public Task WaitAsync(CancellationToken cancellationToken) => gate.WaitAsync(cancellationToken);

    public void Release() => gate.Release();

    public void Dispose() => gate.Dispose();
}
