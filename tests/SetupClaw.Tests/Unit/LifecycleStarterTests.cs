using System.Collections.Concurrent;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Moq;
using SetupClaw.Lifecycle;
using SetupClaw.Provisioning;
using SetupClaw.Tests.Infrastructure;

namespace SetupClaw.Tests.Unit;

/// <summary>The starter schedules claimed runs one after another, in order, at most MaxStartsPerSecond, and drains on shutdown.</summary>
public sealed class LifecycleStarterTests
{
    private static readonly DurableTaskClient Durable = new Mock<DurableTaskClient>("test").Object;

    private static LifecycleStarter Starter(int perSecond, TimeProvider clock) =>
        new(Options.Create(new ProvisioningOptions { MaxStartsPerSecond = perSecond }), clock);

    [Fact]
    public async Task Runs_StartOneAtATimeInOrder()
    {
        await using var starter = Starter(0, TimeProvider.System);
        var first = new TaskCompletionSource();
        var firstStarted = new TaskCompletionSource();
        var started = new ConcurrentQueue<string>();
        starter.Enqueue(Durable, async (_, _) =>
        {
            started.Enqueue("a");
            firstStarted.SetResult();
            await first.Task;
        });
        starter.Enqueue(Durable, (_, _) => { started.Enqueue("b"); return Task.CompletedTask; });
        starter.Enqueue(Durable, (_, _) => { started.Enqueue("c"); return Task.CompletedTask; });

        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(["a"], started); // b waits for a: the loop is single
        first.SetResult();
        await Wait.UntilAsync(() => Task.FromResult(started.Count == 3), TimeSpan.FromSeconds(30), "every run to start");
        Assert.Equal(["a", "b", "c"], started);
    }

    [Fact]
    public async Task Burst_StartsAtTheConfiguredPace()
    {
        var clock = new FakeTimeProvider();
        await using var starter = Starter(2, clock);
        var started = new ConcurrentQueue<int>();
        for (var i = 0; i < 3; i++)
        {
            var n = i;
            starter.Enqueue(Durable, (_, _) => { started.Enqueue(n); return Task.CompletedTask; });
        }

        // The first starts at once; the second has the next slot, half a second on (as the fake clock counts).
        await Wait.UntilAsync(() => Task.FromResult(started.Count == 1), TimeSpan.FromSeconds(30), "the first run to start");
        await Wait.UntilAsync(() => Task.FromResult(starter.Queued == 1), TimeSpan.FromSeconds(30), "the second to be taken and wait for its slot");
        Assert.Single(started);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        await Wait.UntilAsync(() => Task.FromResult(started.Count == 2), TimeSpan.FromSeconds(30), "the second run to start in its slot");
        await Wait.UntilAsync(() => Task.FromResult(starter.Queued == 0), TimeSpan.FromSeconds(30), "the third to be taken and wait for its slot");
        Assert.Equal(2, started.Count);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        await Wait.UntilAsync(() => Task.FromResult(started.Count == 3), TimeSpan.FromSeconds(30), "the third run to start in its slot");
        Assert.Equal([0, 1, 2], started);
    }

    [Fact]
    public async Task Dispose_SchedulesWhatIsQueuedFirst_ThenRefusesMore()
    {
        var starter = Starter(0, TimeProvider.System);
        var started = 0;
        for (var i = 0; i < 20; i++)
        {
            starter.Enqueue(Durable, (_, _) => { Interlocked.Increment(ref started); return Task.CompletedTask; });
        }

        await starter.DisposeAsync();
        Assert.Equal(20, started);
        Assert.False(starter.Enqueue(Durable, (_, _) => Task.CompletedTask)); // the caller then schedules inline
    }
}
