using System.Text.Json;
using System.Text.Json.Nodes;

namespace SetupClaw.Tests.Deployment;

/// <summary>
/// The Azure deployment as `azd up` sees it: the Bicep compiles and lints with no diagnostic at all, the parameters
/// file is strict JSON that sets exactly the parameters main.bicep declares (every required one), and azure.yaml
/// at the root points at both.
/// </summary>
public sealed class InfrastructureTests
{
    public static TheoryData<string> BicepFiles() =>
        [.. Directory.GetFiles(Bicep.InfraDirectory, "*.bicep", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Bicep.InfraDirectory, f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public async Task EveryBicepFile_LintsWithNoDiagnostic(string file)
    {
        var (exitCode, output, errors) = await Bicep.RunAsync("lint", Path.Combine(Bicep.InfraDirectory, file));

        Assert.True(exitCode == 0, errors + output);
        Assert.Equal("", (output + errors).Trim());
    }

    [Fact]
    public async Task MainBicep_Builds_AndTheParametersFileSetsExactlyItsParameters()
    {
        var template = await BuildAsync();
        var declared = template["parameters"]!.AsObject();
        using var parametersFile = JsonDocument.Parse(File.ReadAllText(Path.Combine(Bicep.InfraDirectory, "main.parameters.json")));
        var given = parametersFile.RootElement.GetProperty("parameters").EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(given.Except(declared.Select(p => p.Key)));
        var required = declared.Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key);
        Assert.Empty(required.Except(given));
        // Secrets are secure parameters, and none is written into the parameters file.
        Assert.Equal("securestring", declared["postgresAdministratorPassword"]!["type"]!.GetValue<string>());
        Assert.All(parametersFile.RootElement.GetProperty("parameters").EnumerateObject(),
            p => Assert.Matches(@"^\$\{[A-Z_]+(=[^}]*)?\}$", p.Value.GetProperty("value").GetString()!));
    }

    [Fact]
    public async Task TheApp_IsFlexConsumptionOnDotnet10_WithAnIdentityAndNoStorageKey_AndItsSecretsAreKeyVaultReferences()
    {
        var compiled = (await BuildAsync()).ToJsonString();

        Assert.Contains("FlexConsumption", compiled, StringComparison.Ordinal);
        Assert.Contains("\"dotnet-isolated\"", compiled, StringComparison.Ordinal);
        Assert.Contains("UserAssigned", compiled, StringComparison.Ordinal);
        Assert.DoesNotContain("listKeys", compiled, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey=", compiled, StringComparison.Ordinal);
        Assert.Contains("\"allowSharedKeyAccess\":false", compiled, StringComparison.Ordinal);
        Assert.Contains("require_secure_transport", compiled, StringComparison.Ordinal);

        var settings = SettingsCoverageTests.BicepAppSettings();
        foreach (var secret in new[]
        {
            "ConnectionStrings:ControlDatabase", "Stripe:SecretKey", "Stripe:WebhookSecret", "Security:EncryptionKey", "Security:AdminKey",
            "Providers:Neon:ApiKey", "Providers:Railway:Token", "Llm:ApiKey",
        })
        {
            Assert.StartsWith("secret(vault.outputs.name, '", settings[secret], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AzureYaml_AtTheRoot_PointsAtTheBicepAndTheFunctionsProject()
    {
        var yaml = new YamlDotNet.Serialization.DeserializerBuilder().Build()
            .Deserialize<Dictionary<string, object>>(File.ReadAllText(Path.Combine(Bicep.RepositoryRoot, "azure.yaml")));
        var infra = (Dictionary<object, object>)yaml["infra"];
        Assert.Equal("infra", infra["path"]);
        Assert.True(File.Exists(Path.Combine(Bicep.RepositoryRoot, "infra", infra["module"] + ".bicep")));
        var api = (Dictionary<object, object>)((Dictionary<object, object>)yaml["services"])["api"];
        Assert.Equal("function", api["host"]);
        Assert.True(File.Exists(Path.Combine(Bicep.RepositoryRoot, (string)api["project"], "SetupClaw.Functions.csproj")));
    }

    private static async Task<JsonNode> BuildAsync()
    {
        var (exitCode, output, errors) = await Bicep.RunAsync("build", Path.Combine(Bicep.InfraDirectory, "main.bicep"), "--stdout");
        Assert.True(exitCode == 0, errors);
        Assert.Equal("", errors.Trim());
        return JsonNode.Parse(output)!;
    }
}
