using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;

namespace SetupClaw.Tests.Simulators;

/// <summary>
/// Validates a GraphQL request against an introspection schema (Railway's, in tests/contracts): the document parses,
/// names its one operation, every field exists on its parent type, every argument exists and required ones are given,
/// literal values and variables have the argument's type (nullability and lists included), leaf fields have no
/// selection and object fields have one, every declared variable is used, and the variables sent match their
/// declared types down through input objects and enums.
/// </summary>
public sealed class GraphQLContract
{
    private readonly Dictionary<string, SchemaType> types;
    private readonly string queryType;
    private readonly string mutationType;

    public GraphQLContract(string schemaPath)
    {
        using var stream = File.OpenRead(schemaPath);
        var root = JsonNode.Parse(stream)!;
        var schema = (root["data"] ?? root)["__schema"]!;
        queryType = schema["queryType"]!["name"]!.GetValue<string>();
        mutationType = schema["mutationType"]!["name"]!.GetValue<string>();
        types = schema["types"]!.AsArray().Select(t => new SchemaType(
                t!["name"]!.GetValue<string>(),
                t["kind"]!.GetValue<string>(),
                (t["fields"] as JsonArray ?? []).ToDictionary(f => f!["name"]!.GetValue<string>(), f => new SchemaField(
                    TypeRef.From(f!["type"]!),
                    (f["args"] as JsonArray ?? []).ToDictionary(a => a!["name"]!.GetValue<string>(), a => Input(a!)))),
                (t["inputFields"] as JsonArray ?? []).ToDictionary(f => f!["name"]!.GetValue<string>(), f => Input(f!)),
                (t["enumValues"] as JsonArray ?? []).Select(e => e!["name"]!.GetValue<string>()).ToHashSet()))
            .ToDictionary(t => t.Name);
    }

    public static GraphQLContract Railway { get; } = new(Path.Combine(Contracts.Root, "railway", "schema.json"));

    public IReadOnlyList<string> Validate(string query, string? operationName, JsonObject? variables)
    {
        var violations = new List<string>();
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(query);
        }
        catch (GraphQLSyntaxErrorException e)
        {
            return [$"syntax error: {e.Message}"];
        }

        var operations = document.Definitions.OfType<GraphQLOperationDefinition>().ToList();
        var fragments = document.Definitions.OfType<GraphQLFragmentDefinition>().ToDictionary(f => f.FragmentName.Name.StringValue);
        if (operations.Count != 1 || operations[0].Name is null)
        {
            return ["a request must hold exactly one named operation"];
        }

        var operation = operations[0];
        var name = operation.Name!.StringValue;
        if (operationName is not null && operationName != name)
        {
            violations.Add($"operationName '{operationName}' does not match the document's operation '{name}'");
        }

        var declared = new Dictionary<string, (TypeRef Type, bool HasDefault)>();
        foreach (var definition in operation.Variables?.Items ?? [])
        {
            var type = TypeRef.From(definition.Type);
            if (!types.TryGetValue(type.Named, out var named) || named.Kind is not ("SCALAR" or "ENUM" or "INPUT_OBJECT"))
            {
                violations.Add($"{name}: variable ${definition.Variable.Name.StringValue} has type {type}, which is not an input type of the schema");
            }

            declared[definition.Variable.Name.StringValue] = (type, definition.DefaultValue is not null);
        }

        var used = new HashSet<string>();
        var root = operation.Operation switch
        {
            OperationType.Query => queryType,
            OperationType.Mutation => mutationType,
            _ => null,
        };
        if (root is null)
        {
            return [$"{name}: subscriptions are not sent over HTTP"];
        }

        ValidateSelection(name, types[root], operation.SelectionSet, declared, used, fragments, violations);
        foreach (var unused in declared.Keys.Except(used))
        {
            violations.Add($"{name}: variable ${unused} is declared but never used");
        }

        foreach (var (variable, (type, hasDefault)) in declared)
        {
            var value = variables?[variable];
            if (value is null)
            {
                if (type.NonNull && !hasDefault)
                {
                    violations.Add($"{name}: variable ${variable} of type {type} is required");
                }

                continue;
            }

            ValidateJson(value, type, $"{name}: ${variable}", violations);
        }

        foreach (var extra in (variables ?? []).Select(v => v.Key).Except(declared.Keys))
        {
            violations.Add($"{name}: variable ${extra} is sent but not declared");
        }

        return violations;
    }

    private void ValidateSelection(
        string at, SchemaType parent, GraphQLSelectionSet selectionSet, Dictionary<string, (TypeRef Type, bool HasDefault)> declared,
        HashSet<string> used, Dictionary<string, GraphQLFragmentDefinition> fragments, List<string> violations)
    {
        foreach (var selection in selectionSet.Selections)
        {
            switch (selection)
            {
                case GraphQLInlineFragment inline:
                    var condition = inline.TypeCondition?.Type.Name.StringValue ?? parent.Name;
                    if (types.TryGetValue(condition, out var conditionType))
                    {
                        ValidateSelection(at, conditionType, inline.SelectionSet, declared, used, fragments, violations);
                    }
                    else
                    {
                        violations.Add($"{at}: unknown type {condition} in a fragment");
                    }

                    break;
                case GraphQLFragmentSpread spread when fragments.TryGetValue(spread.FragmentName.Name.StringValue, out var fragment):
                    ValidateSelection(at, types[fragment.TypeCondition.Type.Name.StringValue], fragment.SelectionSet, declared, used, fragments, violations);
                    break;
                case GraphQLField field:
                    ValidateField(at, parent, field, declared, used, fragments, violations);
                    break;
                default:
                    violations.Add($"{at}: unknown fragment");
                    break;
            }
        }
    }

    private void ValidateField(
        string at, SchemaType parent, GraphQLField field, Dictionary<string, (TypeRef Type, bool HasDefault)> declared,
        HashSet<string> used, Dictionary<string, GraphQLFragmentDefinition> fragments, List<string> violations)
    {
        var name = field.Name.StringValue;
        if (name == "__typename")
        {
            return;
        }

        var path = $"{at}.{name}";
        if (!parent.Fields.TryGetValue(name, out var schemaField))
        {
            violations.Add($"Cannot query field \"{name}\" on type \"{parent.Name}\" ({at})");
            return;
        }

        var given = (field.Arguments?.Items ?? []).ToDictionary(a => a.Name.StringValue, a => a.Value);
        foreach (var (argument, value) in given)
        {
            if (!schemaField.Args.TryGetValue(argument, out var input))
            {
                violations.Add($"{path}: unknown argument '{argument}'");
                continue;
            }

            ValidateValue(value, input.Type, input.HasDefault, $"{path}({argument})", declared, used, violations);
        }

        foreach (var (argument, input) in schemaField.Args.Where(a => a.Value.Type.NonNull && !a.Value.HasDefault && !given.ContainsKey(a.Key)))
        {
            violations.Add($"{path}: required argument '{argument}' of type {input.Type} is missing");
        }

        var result = types[schemaField.Type.Named];
        var isLeaf = result.Kind is "SCALAR" or "ENUM";
        if (isLeaf && field.SelectionSet is not null)
        {
            violations.Add($"{path} is a {result.Name} and takes no selection");
        }
        else if (!isLeaf && field.SelectionSet is null)
        {
            violations.Add($"{path} is a {result.Name} and needs a selection of its fields");
        }
        else if (!isLeaf)
        {
            ValidateSelection(path, result, field.SelectionSet!, declared, used, fragments, violations);
        }
    }

    private void ValidateValue(
        GraphQLValue value, TypeRef expected, bool hasDefault, string at, Dictionary<string, (TypeRef Type, bool HasDefault)> declared,
        HashSet<string> used, List<string> violations)
    {
        if (value is GraphQLVariable variable)
        {
            var name = variable.Name.StringValue;
            used.Add(name);
            if (!declared.TryGetValue(name, out var declaredType))
            {
                violations.Add($"{at}: variable ${name} is not declared");
            }
            else if (!Compatible(declaredType.Type, expected, declaredType.HasDefault || hasDefault))
            {
                violations.Add($"{at}: variable ${name} of type {declaredType.Type} cannot be used where {expected} is expected");
            }

            return;
        }

        if (value is GraphQLNullValue)
        {
            if (expected.NonNull)
            {
                violations.Add($"{at}: null where {expected} is expected");
            }

            return;
        }

        if (expected.List is { } item)
        {
            foreach (var element in value is GraphQLListValue list ? list.Values ?? [] : [value])
            {
                ValidateValue(element, item, false, at + "[]", declared, used, violations);
            }

            return;
        }

        if (!types.TryGetValue(expected.Named, out var type))
        {
            return; // reported where the variable was declared
        }

        switch (type.Kind)
        {
            case "INPUT_OBJECT" when value is GraphQLObjectValue objectValue:
                var fields = (objectValue.Fields ?? []).ToDictionary(f => f.Name.StringValue, f => f.Value);
                foreach (var (field, fieldValue) in fields)
                {
                    if (type.InputFields.TryGetValue(field, out var input))
                    {
                        ValidateValue(fieldValue, input.Type, input.HasDefault, $"{at}.{field}", declared, used, violations);
                    }
                    else
                    {
                        violations.Add($"{at}: {type.Name} has no field '{field}'");
                    }
                }

                foreach (var missing in type.InputFields.Where(f => f.Value.Type.NonNull && !f.Value.HasDefault && !fields.ContainsKey(f.Key)))
                {
                    violations.Add($"{at}: {type.Name}.{missing.Key} is required");
                }

                break;
            case "ENUM" when value is GraphQLEnumValue enumValue:
                if (!type.EnumValues.Contains(enumValue.Name.StringValue))
                {
                    violations.Add($"{at}: {enumValue.Name.StringValue} is not a value of {type.Name}");
                }

                break;
            case "SCALAR" when ScalarAccepts(type.Name, value):
                break;
            default:
                violations.Add($"{at}: a {value.Kind} literal is not a {expected}");
                break;
        }
    }

    private static bool ScalarAccepts(string scalar, GraphQLValue value) => scalar switch
    {
        "String" => value is GraphQLStringValue,
        "ID" => value is GraphQLStringValue or GraphQLIntValue,
        "Int" => value is GraphQLIntValue,
        "Float" => value is GraphQLIntValue or GraphQLFloatValue,
        "Boolean" => value is GraphQLBooleanValue,
        _ => true,
    };

    /// <summary>GraphQL's "variables in allowed positions": a nullable variable may fill a non-null slot only with a default.</summary>
    private static bool Compatible(TypeRef variable, TypeRef expected, bool hasDefault)
    {
        if (expected.NonNull && !variable.NonNull && !hasDefault)
        {
            return false;
        }

        var (v, e) = (variable with { NonNull = false }, expected with { NonNull = false });
        return (v.List, e.List) switch
        {
            (null, null) => v.Named == e.Named,
            ({ } vi, { } ei) => Compatible(vi, ei, false),
            _ => false,
        };
    }

    private void ValidateJson(JsonNode? value, TypeRef expected, string at, List<string> violations)
    {
        if (value is null)
        {
            if (expected.NonNull)
            {
                violations.Add($"{at}: null where {expected} is expected");
            }

            return;
        }

        if (expected.List is { } item)
        {
            foreach (var element in value is JsonArray array ? [.. array] : new JsonNode?[] { value })
            {
                ValidateJson(element, item, at + "[]", violations);
            }

            return;
        }

        if (!types.TryGetValue(expected.Named, out var type))
        {
            return; // reported where the variable was declared
        }

        var kind = value.GetValueKind();
        var ok = type.Kind switch
        {
            "INPUT_OBJECT" => kind == JsonValueKind.Object,
            "ENUM" => kind == JsonValueKind.String && type.EnumValues.Contains(value.GetValue<string>()),
            _ => type.Name switch
            {
                "String" or "DateTime" => kind == JsonValueKind.String,
                "ID" => kind is JsonValueKind.String or JsonValueKind.Number,
                "Int" => kind == JsonValueKind.Number && value.GetValue<double>() % 1 == 0,
                "Float" => kind == JsonValueKind.Number,
                "Boolean" => kind is JsonValueKind.True or JsonValueKind.False,
                "EnvironmentVariables" => kind == JsonValueKind.Object && value.AsObject().All(v => v.Value?.GetValueKind() == JsonValueKind.String),
                _ => true,
            },
        };
        if (!ok)
        {
            violations.Add($"{at}: {value.ToJsonString()} is not a {expected}");
            return;
        }

        if (type.Kind == "INPUT_OBJECT")
        {
            var fields = value.AsObject();
            foreach (var (field, fieldValue) in fields)
            {
                if (type.InputFields.TryGetValue(field, out var input))
                {
                    ValidateJson(fieldValue, input.Type, $"{at}.{field}", violations);
                }
                else
                {
                    violations.Add($"{at}: {type.Name} has no field '{field}'");
                }
            }

            foreach (var missing in type.InputFields.Where(f => f.Value.Type.NonNull && !f.Value.HasDefault && fields[f.Key] is null))
            {
                violations.Add($"{at}: {type.Name}.{missing.Key} is required");
            }
        }
    }

    private static SchemaInput Input(JsonNode node) => new(TypeRef.From(node["type"]!), node["defaultValue"] is not null);

    private sealed record SchemaType(string Name, string Kind, Dictionary<string, SchemaField> Fields, Dictionary<string, SchemaInput> InputFields, HashSet<string> EnumValues);

    private sealed record SchemaField(TypeRef Type, Dictionary<string, SchemaInput> Args);

    private sealed record SchemaInput(TypeRef Type, bool HasDefault);

    /// <summary>A type reference: a named type, or a list of one, either possibly non-null.</summary>
    private sealed record TypeRef(string Named, TypeRef? List, bool NonNull)
    {
        public static TypeRef From(JsonNode node) => node["kind"]!.GetValue<string>() switch
        {
            "NON_NULL" => From(node["ofType"]!) with { NonNull = true },
            "LIST" => From(node["ofType"]!) is var item ? new TypeRef(item.Named, item, false) : null!,
            _ => new TypeRef(node["name"]!.GetValue<string>(), null, false),
        };

        public static TypeRef From(GraphQLType type) => type switch
        {
            GraphQLNonNullType nonNull => From(nonNull.Type) with { NonNull = true },
            GraphQLListType list => From(list.Type) is var item ? new TypeRef(item.Named, item, false) : null!,
            GraphQLNamedType named => new TypeRef(named.Name.StringValue, null, false),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };

        public override string ToString() => (List is null ? Named : $"[{List}]") + (NonNull ? "!" : "");
    }
}
