using System.Collections.Concurrent;
using System.Reflection;
using DurableTask.Core;
using DurableTask.Core.History;

namespace SetupClaw.LocalHost;

/// <summary>
/// The backend as the embedded sidecar should see it. Two corrections: how many work items it dispatches at once
/// (the in-memory backend offers one slot per processor, so two activities at a time on a 2-core machine however
/// long they wait on a provider; <c>Durable:MaxConcurrentActivities</c> and <c>:MaxConcurrentOrchestrations</c>
/// set the real figures), and two things the sidecar hands over that Azure Storage cannot keep: tags as Protobuf
/// maps (written into queue messages it could not read back) and events without a timestamp (year 1, outside what
/// a table can hold: the sub-orchestration's history row was stored empty and the parent could never load its
/// history again). Tags become a plain dictionary and a missing timestamp becomes now, before anything is stored.
/// </summary>
internal sealed class WiderOrchestrationService(IOrchestrationService inner, IOrchestrationServiceClient client, int activities, int orchestrations)
    : IOrchestrationService, IOrchestrationServiceClient
{
    public int MaxConcurrentTaskActivityWorkItems => activities;

    public int MaxConcurrentTaskOrchestrationWorkItems => orchestrations;

    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;

    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;

    public Task StartAsync() => inner.StartAsync();

    public Task StopAsync() => inner.StopAsync();

    public Task StopAsync(bool isForced) => inner.StopAsync(isForced);

    public Task CreateAsync() => inner.CreateAsync();

    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);

    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();

    public Task DeleteAsync() => inner.DeleteAsync();

    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);

    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newOrchestrationRuntimeState, IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages, TaskMessage continuedAsNewMessage, OrchestrationState orchestrationState)
    {
        ArgumentNullException.ThrowIfNull(newOrchestrationRuntimeState);
        Storable(newOrchestrationRuntimeState);

        foreach (var message in outboundMessages.Concat(orchestratorMessages).Concat(timerMessages).Append(continuedAsNewMessage))
        {
            PlainTags(message?.Event);
        }

        if (orchestrationState?.Tags is { } tags && tags is not Dictionary<string, string>)
        {
            orchestrationState.Tags = new Dictionary<string, string>(tags);
        }

        return inner.CompleteTaskOrchestrationWorkItemAsync(workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);
    }

    /// <summary>
    /// History as the backend can store it: the sidecar records a sub-orchestration's creation as its own subclass,
    /// which Azure Storage's table writer does not know (the row was stored without its properties, and the parent
    /// could never load its history again); it becomes the plain <see cref="SubOrchestrationInstanceCreatedEvent"/>.
    /// Only this episode's new events: every older one was made storable when it was new.
    /// </summary>
    private static void Storable(OrchestrationRuntimeState state)
    {
        for (var i = 0; i < state.NewEvents.Count; i++)
        {
            var historyEvent = state.NewEvents[i];
            PlainTags(historyEvent);
            if (historyEvent is SubOrchestrationInstanceCreatedEvent created && created.GetType() != typeof(SubOrchestrationInstanceCreatedEvent))
            {
                var plain = new SubOrchestrationInstanceCreatedEvent(created.EventId)
                {
                    Name = created.Name,
                    Version = created.Version,
                    InstanceId = created.InstanceId,
                    Input = created.Input,
                    Tags = created.Tags,
                    ClientSpanId = created.ClientSpanId,
                    Timestamp = created.Timestamp,
                    IsPlayed = created.IsPlayed,
                };
                state.NewEvents[i] = plain;
                var inHistory = state.Events.IndexOf(created);
                if (inHistory >= 0)
                {
                    state.Events[inHistory] = plain;
                }
            }
        }
    }

    private static readonly ConcurrentDictionary<Type, PropertyInfo?> TagsProperties = new();

    /// <summary>Replaces an event's <c>Tags</c> (whatever dictionary type the sidecar used) with a <see cref="Dictionary{TKey, TValue}"/>.</summary>
    private static void PlainTags(HistoryEvent? historyEvent)
    {
        if (historyEvent is null)
        {
            return;
        }

        var property = TagsProperties.GetOrAdd(historyEvent.GetType(), type => type.GetProperty("Tags") is { CanWrite: true } tags ? tags : null);
        if (property?.GetValue(historyEvent) is IDictionary<string, string> tags and not Dictionary<string, string>)
        {
            property.SetValue(historyEvent, new Dictionary<string, string>(tags));
        }
    }

    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);

    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage) =>
        inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);

    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) => inner.AbandonTaskActivityWorkItemAsync(workItem);

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage)
    {
        PlainTags(creationMessage?.Event);
        return client.CreateTaskOrchestrationAsync(creationMessage);
    }

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[] dedupeStatuses)
    {
        PlainTags(creationMessage?.Event);
        return client.CreateTaskOrchestrationAsync(creationMessage, dedupeStatuses);
    }

    public Task SendTaskOrchestrationMessageAsync(TaskMessage message)
    {
        PlainTags(message?.Event);
        return client.SendTaskOrchestrationMessageAsync(message);
    }

    public Task SendTaskOrchestrationMessageBatchAsync(params TaskMessage[] messages)
    {
        foreach (var message in messages ?? [])
        {
            PlainTags(message?.Event);
        }

        return client.SendTaskOrchestrationMessageBatchAsync(messages);
    }

    public Task<OrchestrationState> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken) =>
        client.WaitForOrchestrationAsync(instanceId, executionId, timeout, cancellationToken);

    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string reason) => client.ForceTerminateTaskOrchestrationAsync(instanceId, reason);

    public Task<IList<OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions) =>
        client.GetOrchestrationStateAsync(instanceId, allExecutions);

    public Task<OrchestrationState> GetOrchestrationStateAsync(string instanceId, string executionId) =>
        client.GetOrchestrationStateAsync(instanceId, executionId);

    public Task<string> GetOrchestrationHistoryAsync(string instanceId, string executionId) => client.GetOrchestrationHistoryAsync(instanceId, executionId);

    public Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, OrchestrationStateTimeRangeFilterType timeRangeFilterType) =>
        client.PurgeOrchestrationHistoryAsync(thresholdDateTimeUtc, timeRangeFilterType);
}
