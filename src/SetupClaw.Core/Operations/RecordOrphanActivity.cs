using Microsoft.DurableTask;

namespace SetupClaw.Operations;

/// <summary>A compensation that failed after its retries: recorded, so the sweep deletes what it left.</summary>
public sealed class RecordOrphanActivity(OrphanStore store) : TaskActivity<OrphanReport, bool>
{
    public override Task<bool> RunAsync(TaskActivityContext context, OrphanReport input) => store.RecordAsync(input, CancellationToken.None);
}
