using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace SetupClaw.Tests.Simulators;

/// <summary>
/// Checks a request against an OpenAPI 3 document (the Neon contract in tests/contracts): the path and method exist,
/// path parameters match their patterns, required query parameters are present, and the JSON body has every required
/// field, with the right types and enum values, down through $ref, allOf, objects and arrays.
/// </summary>
public sealed class OpenApiContract
{
    private readonly JsonObject document;
    private readonly List<(string Method, Regex Path, string Template)> operations = [];

    public OpenApiContract(string yamlPath)
    {
        using var reader = new StreamReader(yamlPath);
        var stream = new YamlStream();
        stream.Load(reader);
        document = (JsonObject)ToJson(stream.Documents[0].RootNode)!;
        foreach (var (template, item) in document["paths"]!.AsObject())
        {
            var pattern = "^" + Regex.Replace(Regex.Escape(template), @"\\\{([a-z_]+)}", "(?<$1>[^/]+)") + "$";
            foreach (var (method, _) in item!.AsObject().Where(m => m.Key is "get" or "post" or "put" or "patch" or "delete"))
            {
                operations.Add((method, new Regex(pattern), template));
            }
        }
    }

    public static OpenApiContract Neon { get; } = new(Path.Combine(Contracts.Root, "neon", "openapi-v2.yaml"));

    /// <summary>Everything the real API would reject about this request; empty when it conforms.</summary>
    public IReadOnlyList<string> Validate(string method, string path, IReadOnlyDictionary<string, string> query, JsonNode? body)
    {
        method = method.ToLowerInvariant();
        var match = operations.Select(o => (o, m: o.Path.Match(path))).FirstOrDefault(x => x.o.Method == method && x.m.Success);
        if (match.m is null)
        {
            return [$"{method.ToUpperInvariant()} {path} is not an operation of the contract"];
        }

        var violations = new List<string>();
        var pathItem = document["paths"]![match.o.Template]!.AsObject();
        var operation = pathItem[method]!.AsObject();
        var parameters = (pathItem["parameters"]?.AsArray() ?? []).Concat(operation["parameters"]?.AsArray() ?? []).Select(p => Resolve(p!).AsObject());
        foreach (var parameter in parameters)
        {
            var name = parameter["name"]!.GetValue<string>();
            var required = parameter["required"]?.GetValue<bool>() == true;
            string? value = parameter["in"]!.GetValue<string>() switch
            {
                "path" => match.m.Groups[name].Success ? Uri.UnescapeDataString(match.m.Groups[name].Value) : null,
                "query" => query.GetValueOrDefault(name),
                _ => "",
            };
            if (value is null)
            {
                if (required)
                {
                    violations.Add($"{match.o.Template}: required parameter '{name}' is missing");
                }

                continue;
            }

            if (Resolve(parameter["schema"]!)["type"]?.GetValue<string>() == "boolean" && value is not ("true" or "false"))
            {
                violations.Add($"{match.o.Template}: parameter '{name}' = '{value}' is not a boolean (true or false)");
            }

            if (Resolve(parameter["schema"]!)["pattern"]?.GetValue<string>() is { } pattern && !Regex.IsMatch(value, pattern))
            {
                violations.Add($"{match.o.Template}: parameter '{name}' = '{value}' does not match {pattern}");
            }
        }

        var requestBody = operation["requestBody"] is { } rb ? Resolve(rb).AsObject() : null;
        if (body is null)
        {
            if (requestBody?["required"]?.GetValue<bool>() == true)
            {
                violations.Add($"{method.ToUpperInvariant()} {match.o.Template}: a JSON body is required");
            }
        }
        else if (requestBody is null)
        {
            violations.Add($"{method.ToUpperInvariant()} {match.o.Template} takes no body");
        }
        else
        {
            ValidateValue(requestBody["content"]!["application/json"]!["schema"]!, body, "body", violations);
        }

        return violations;
    }

    private void ValidateValue(JsonNode schemaNode, JsonNode? value, string at, List<string> violations, HashSet<string>? siblings = null)
    {
        var schema = Resolve(schemaNode).AsObject();
        if (schema["allOf"] is JsonArray all)
        {
            // Each part knows only its own fields; together they know the object's.
            var known = all.SelectMany(p => Resolve(p!)["properties"]?.AsObject().Select(x => x.Key) ?? []).ToHashSet();
            foreach (var part in all)
            {
                ValidateValue(part!, value, at, violations, known);
            }
        }

        if (value is null)
        {
            if (schema["nullable"]?.GetValue<bool>() != true && schema["type"] is not null)
            {
                violations.Add($"{at} is null");
            }

            return;
        }

        var type = schema["type"]?.GetValue<string>();
        var kind = value.GetValueKind();
        var ok = type switch
        {
            "object" => kind == System.Text.Json.JsonValueKind.Object,
            "array" => kind == System.Text.Json.JsonValueKind.Array,
            "string" => kind == System.Text.Json.JsonValueKind.String,
            "boolean" => kind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
            "integer" => kind == System.Text.Json.JsonValueKind.Number && value.GetValue<double>() % 1 == 0,
            "number" => kind == System.Text.Json.JsonValueKind.Number,
            _ => true,
        };
        if (!ok)
        {
            violations.Add($"{at} should be {type}, is {kind}");
            return;
        }

        if (schema["enum"] is JsonArray allowed && kind == System.Text.Json.JsonValueKind.String && !allowed.Any(a => a!.GetValue<string>() == value.GetValue<string>()))
        {
            violations.Add($"{at} = '{value.GetValue<string>()}' is not one of {string.Join(", ", allowed)}");
        }

        if (kind == System.Text.Json.JsonValueKind.Object)
        {
            var given = value.AsObject();
            foreach (var required in schema["required"]?.AsArray() ?? [])
            {
                if (!given.ContainsKey(required!.GetValue<string>()))
                {
                    violations.Add($"{at}.{required} is required");
                }
            }

            var properties = schema["properties"]?.AsObject();
            foreach (var (name, child) in given)
            {
                if (properties?[name] is { } property)
                {
                    ValidateValue(property, child, $"{at}.{name}", violations);
                }
                else if (schema["additionalProperties"] is JsonObject additional)
                {
                    ValidateValue(additional, child, $"{at}.{name}", violations);
                }
                else if (properties is not null && siblings?.Contains(name) != true)
                {
                    // Not in the contract: a misspelt or wrongly cased field the real API would ignore or refuse.
                    violations.Add($"{at}.{name} is not a field of the contract");
                }
            }
        }
        else if (kind == System.Text.Json.JsonValueKind.Array && schema["items"] is { } items)
        {
            var index = 0;
            foreach (var item in value.AsArray())
            {
                ValidateValue(items, item, $"{at}[{index++}]", violations);
            }
        }
    }

    private JsonNode Resolve(JsonNode node)
    {
        while (node is JsonObject o && o["$ref"]?.GetValue<string>() is { } reference)
        {
            node = reference.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Aggregate((JsonNode)document, (current, segment) => current[segment.Replace("~1", "/", StringComparison.Ordinal)]!);
        }

        return node;
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode list => new JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode { Value: "true", Style: not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted) } => JsonValue.Create(true),
        YamlScalarNode { Value: "false", Style: not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted) } => JsonValue.Create(false),
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => null,
    };
}

public static class Contracts
{
    /// <summary>tests/contracts, found from the test binaries upwards.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "contracts");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/contracts not found above " + AppContext.BaseDirectory);
    }
}
