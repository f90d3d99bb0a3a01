using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using SetupClaw.Runtime.Chat;
using SetupClaw.Runtime.Memory;
using SetupClaw.Runtime.Workspace;

namespace SetupClaw.Runtime.Http;

/// <summary>
/// Every JSON shape the runtime reads or writes (camelCase, the SetupClaw API), generated at build time: the native
/// binary has no reflection-based serializer, so a type missing here fails its first answer. The primitives are the
/// values problem extensions carry (<see cref="Problems"/>), and <see cref="OpenAiError"/> the one the OpenAI endpoints add.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChatEndpoints.ChatRequest))]
[JsonSerializable(typeof(ChatReply))]
[JsonSerializable(typeof(ChatDelta))]
[JsonSerializable(typeof(MemoryEndpoints.MemoryBody))]
[JsonSerializable(typeof(MemoryView))]
[JsonSerializable(typeof(MemoryPage))]
[JsonSerializable(typeof(MemorySearch))]
[JsonSerializable(typeof(SkillList))]
[JsonSerializable(typeof(SkillView))]
[JsonSerializable(typeof(WorkspaceEndpoints.FileBody))]
[JsonSerializable(typeof(WorkspaceFileList))]
[JsonSerializable(typeof(WorkspaceFileSummary))]
[JsonSerializable(typeof(WorkspaceFileView))]
[JsonSerializable(typeof(StatusEndpoints.Health))]
[JsonSerializable(typeof(StatusView))]
[JsonSerializable(typeof(ProblemDetails))]
[JsonSerializable(typeof(OpenAiError))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(DateOnly))]
[JsonSerializable(typeof(DateTimeOffset))]
internal sealed partial class RuntimeJson : JsonSerializerContext;

/// <summary>OpenAI's wire format (snake_case) for <c>/v1/chat/completions</c> and <c>/v1/models</c>.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(OpenAiEndpoints.CompletionRequest))]
[JsonSerializable(typeof(OpenAiModels))]
[JsonSerializable(typeof(OpenAiCompletion))]
[JsonSerializable(typeof(OpenAiChunk))]
[JsonSerializable(typeof(OpenAiErrorBody))]
internal sealed partial class OpenAiJson : JsonSerializerContext;

public sealed record ChatReply(string Reply, Guid ConversationId, ChatReplyUsage Usage);

public sealed record ChatReplyUsage(int MessagesUsed, int MessagesRemaining, long InputTokens, long OutputTokens);

public sealed record ChatDelta(string Text);

public sealed record MemoryView(long Id, string Content, JsonElement Metadata, DateTimeOffset CreatedAt, float? Rank);

public sealed record MemoryPage(IReadOnlyList<MemoryView> Memories, string? Next);

public sealed record MemorySearch(string Query, IReadOnlyList<MemoryView> Memories);

public sealed record SkillView(string Name, string Description, bool Available, bool Enabled);

public sealed record SkillList(IReadOnlyList<SkillView> Skills);

public sealed record WorkspaceFileSummary(string Name, int Bytes, bool Edited, DateTimeOffset UpdatedAt);

public sealed record WorkspaceFileList(IReadOnlyList<WorkspaceFileSummary> Files);

public sealed record WorkspaceFileView(string Name, string Content, bool Edited, DateTimeOffset UpdatedAt);

public sealed record StatusView(string WorkspaceId, StatusPlan Plan, StatusUsage Usage, IReadOnlyList<string> Features, StatusSkills Skills, StatusModel Model);

public sealed record StatusPlan(string Name, StatusLimits Limits);

public sealed record StatusLimits(int MessagesPerMonth, string MaxAgents);

public sealed record StatusUsage(
    string Month, int MessagesUsed, int MessagesRemaining, double PercentUsed, long InputTokens, long OutputTokens, long TokensUsed, long? MonthlyTokens);

public sealed record StatusSkills(IReadOnlyList<string> Available, IReadOnlyList<string> Enabled);

public sealed record StatusModel(string Provider, string? Name, string? Problem);

public sealed record OpenAiModels(string Object, IReadOnlyList<OpenAiModel> Data);

public sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy);

public sealed record OpenAiCompletion(
    string Id, string Object, long Created, string Model, IReadOnlyList<OpenAiChoice> Choices, OpenAiUsage Usage, Guid ConversationId);

public sealed record OpenAiChoice(int Index, OpenAiMessage Message, string FinishReason);

public sealed record OpenAiMessage(string Role, string Content);

public sealed record OpenAiChunk(string Id, string Object, long Created, string Model, IReadOnlyList<OpenAiChunkChoice> Choices, OpenAiUsage? Usage);

public sealed record OpenAiChunkChoice(int Index, OpenAiDelta Delta, string? FinishReason);

/// <summary>A streamed piece: the role on the first only, nothing at all on the final chunk (<c>{}</c>).</summary>
public sealed record OpenAiDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

public sealed record OpenAiUsage(long PromptTokens, long CompletionTokens, long TotalTokens);

/// <summary>OpenAI's <c>error</c> object, which OpenAI client libraries read.</summary>
public sealed record OpenAiError(string? Message, string Type, int? Code);

public sealed record OpenAiErrorBody(OpenAiError Error);
