using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AppointmentChat.Api.Tests.Infrastructure;
using Json.Schema;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// The service's OpenAPI document as a contract to hold real answers to: finds the operation a request went to and checks
/// that the answer's status is documented and its body valid against the schema documented for that status (JSON Schema
/// draft 2020-12, OpenAPI 3.1's dialect, evaluated by JsonSchema.Net with <c>format</c> checked).
/// </summary>
public sealed class ApiContract
{
    private readonly List<(string Method, Regex Path, string Template, JsonElement Operation)> _operations = [];
    private readonly JsonObject _definitions;

    private ApiContract(JsonElement document)
    {
        Document = document;
        foreach (var path in document.GetProperty("paths").EnumerateObject())
        {
            var pattern = new Regex("^" + Regex.Replace(Regex.Escape(path.Name), @"\\\{[^}]+}", "[^/]+") + "$", RegexOptions.None, TimeSpan.FromSeconds(1));
            foreach (var operation in path.Value.EnumerateObject())
            {
                _operations.Add((operation.Name.ToUpperInvariant(), pattern, path.Name, operation.Value));
            }
        }

        // Component references become $defs references, so that each schema is a document of its own.
        _definitions = (JsonObject)JsonNode.Parse(Rewrite(document.GetProperty("components").GetProperty("schemas").GetRawText()))!;
    }

    public JsonElement Document { get; }

    /// <summary>Every (operationId, status) seen by <see cref="Check"/>, to show what a scenario covered.</summary>
    public HashSet<string> Seen { get; } = [];

    /// <summary>What <see cref="Check"/> found wrong.</summary>
    public List<string> Failures { get; } = [];

    public static async Task<ApiContract> LoadAsync(ChatApp app) =>
        new(await (await app.AnonymousClient().GetAsync("/openapi/v1.json")).ShouldBeOkJsonAsync());

    public static ApiContract From(JsonElement document) => new(document);

    public IEnumerable<(string Method, string Path, JsonElement Operation)> Operations => _operations.Select(o => (o.Method, o.Template, o.Operation));

    /// <summary>Checks a real answer against the document and returns it, so that a test can go on reading it.</summary>
    public async Task<HttpResponseMessage> Check(HttpResponseMessage response)
    {
        var request = response.RequestMessage!;
        var name = $"{request.Method} {request.RequestUri!.AbsolutePath}";
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var body = await response.Content.ReadAsStringAsync();
        var match = _operations.Where(o => o.Method == request.Method.Method && o.Path.IsMatch(request.RequestUri.AbsolutePath)).ToList();
        if (match is not [var (_, _, _, operation)])
        {
            Failures.Add($"{name}: {match.Count} operations in the document match");
            return response;
        }

        var operationId = operation.TryGetProperty("operationId", out var id) ? id.GetString() : name;
        Seen.Add($"{operationId} {status}");
        if (!operation.GetProperty("responses").TryGetProperty(status, out var documented))
        {
            Failures.Add($"{operationId}: answered {status}, which the document does not list: {body}");
            return response;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (!documented.TryGetProperty("content", out var content))
        {
            if (body.Length > 0)
            {
                Failures.Add($"{operationId} {status}: the document says no body, the answer has {mediaType}: {body}");
            }

            return response;
        }

        if (mediaType is null || !content.TryGetProperty(mediaType, out var media))
        {
            Failures.Add($"{operationId} {status}: answered as {mediaType ?? "no content type"}, which the document does not list");
            return response;
        }

        foreach (var error in Validate(media.GetProperty("schema"), JsonDocument.Parse(body).RootElement))
        {
            Failures.Add($"{operationId} {status}: {error} in {body}");
        }

        if (response.Headers.RetryAfter is not null)
        {
            if (!documented.TryGetProperty("headers", out var headers) || !headers.TryGetProperty("Retry-After", out var header))
            {
                Failures.Add($"{operationId} {status}: sends Retry-After, which the document does not list");
            }
            else
            {
                var value = JsonDocument.Parse(response.Headers.GetValues("Retry-After").Single()).RootElement;
                Failures.AddRange(Validate(header.GetProperty("schema"), value).Select(e => $"{operationId} {status} Retry-After: {e}"));
            }
        }

        return response;
    }

    /// <summary>What is wrong with <paramref name="instance"/> by <paramref name="schema"/> (a schema of the document); nothing when valid.</summary>
    public IReadOnlyList<string> Validate(JsonElement schema, JsonElement instance)
    {
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = _definitions.DeepClone(),
            ["allOf"] = new JsonArray(JsonNode.Parse(Rewrite(schema.GetRawText()))),
        };
        var built = JsonSchema.FromText(root.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri($"https://contract.test/{Guid.NewGuid():N}"));
        var results = built.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true, FormatRegistry = Formats });
        return results.IsValid
            ? []
            : [.. (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}"))];
    }

    /// <summary>OpenAPI's integer formats, checked as ranges; JSON Schema's own formats (date-time) as the library knows them.</summary>
    private static FormatRegistry Formats { get; } = CreateFormats();

    private static FormatRegistry CreateFormats()
    {
        var registry = FormatRegistry.Global;
        registry.Register(new PredicateFormat("int32", node => node.ValueKind != JsonValueKind.Number || node.TryGetInt32(out _)));
        registry.Register(new PredicateFormat("int64", node => node.ValueKind != JsonValueKind.Number || node.TryGetInt64(out _)));
        return registry;
    }

    private static string Rewrite(string json) => json.Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
}
