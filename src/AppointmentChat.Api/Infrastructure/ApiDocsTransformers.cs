using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// Makes the generated document say exactly what the service sends and accepts, so that types generated from it are right.
/// </summary>
internal static class ApiDocsTransformers
{
    public const string BearerScheme = "Bearer";
    public const string ProblemSchema = "ProblemDetails";
    public const string ValidationProblemSchema = "HttpValidationProblemDetails";

    /// <summary>Statuses any request can get: 429 from the limit on failed authentication (before anything else runs), and 500.</summary>
    private static readonly int[] AnyRequestStatuses = [StatusCodes.Status429TooManyRequests, StatusCodes.Status500InternalServerError];

    /// <summary>Statuses any JSON request body can get: malformed or unknown fields (400), over 1 MiB (413), not JSON (415).</summary>
    private static readonly int[] AnyBodyStatuses = [StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType];

    /// <summary>Enums travel as kebab-case names (KebabCaseEnumConverter); date-times as ISO 8601 strings (StrictDateTimeOffsetConverter).</summary>
    public static Task DescribeSchemaAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var declared = context.JsonTypeInfo.Type;
        var type = Nullable.GetUnderlyingType(declared) ?? declared;
        var nullable = Nullable.GetUnderlyingType(declared) is not null ? JsonSchemaType.Null : 0;
        if (type == typeof(LocalOrOffsetTime))
        {
            schema.Type = JsonSchemaType.String | nullable;
            schema.Description = "ISO 8601 date-time; without an offset, a wall-clock time in the appointment's organisation's zone.";
        }
        else if (type.IsEnum)
        {
            schema.Type = JsonSchemaType.String;
            schema.Enum = [.. Enum.GetNames(type).Select(name => (JsonNode)JsonNamingPolicy.KebabCaseLower.ConvertName(name))];
        }
        else if (type == typeof(DateTimeOffset))
        {
            // The custom converter hides the type from the generator, which then says only the format.
            schema.Type = JsonSchemaType.String | nullable;
            schema.Format = "date-time";
        }
        else if (type == typeof(JsonElement))
        {
            schema.Type = JsonSchemaType.Object;
            schema.Description = "A Stream webhook event: a JSON object with at least 'type'.";
        }

        return Task.CompletedTask;
    }

    public static Task DescribeOperationAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        if (!metadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
        }

        foreach (var doc in metadata.OfType<QueryParameterDoc>())
        {
            var parameter = operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.In == ParameterLocation.Query && p.Name == doc.Name)
                ?? throw new InvalidOperationException($"{context.Description.RelativePath} documents a query parameter '{doc.Name}' it does not take.");
            parameter.Schema = doc.Schema();
            parameter.Description = doc.Description;
        }

        operation.Responses ??= [];
        var statuses = AnyRequestStatuses.Concat(operation.RequestBody is null ? [] : AnyBodyStatuses);
        foreach (var status in statuses)
        {
            operation.Responses.TryAdd(status.ToString(CultureInfo.InvariantCulture), new OpenApiResponse());
        }

        foreach (var (key, response) in operation.Responses)
        {
            if (int.TryParse(key, CultureInfo.InvariantCulture, out var status) && status >= 400 && response is OpenApiResponse problem)
            {
                DescribeProblem(problem, status, context.Document);
            }
        }

        var json = context.ApplicationServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        foreach (var example in metadata.OfType<ApiExample>())
        {
            var content = example.Status is { } status
                ? ApiNulls.Get<IOpenApiResponse>(operation.Responses, status.ToString(CultureInfo.InvariantCulture))?.Content
                : operation.RequestBody?.Content;
            if (ApiNulls.Get(content, "application/json") is not { } media)
            {
                throw new InvalidOperationException($"{context.Description.RelativePath} has an example for a body it does not document ({example.Status?.ToString(CultureInfo.InvariantCulture) ?? "request"}).");
            }

            media.Example = JsonSerializer.SerializeToNode(example.Value, example.Value.GetType(), json);
        }

        // In order of status, as a reader looks for them.
        var sorted = operation.Responses.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
        operation.Responses.Clear();
        foreach (var (key, response) in sorted)
        {
            operation.Responses[key] = response;
        }

        return Task.CompletedTask;
    }

    private static void DescribeProblem(OpenApiResponse response, int status, OpenApiDocument? document)
    {
        var validation = status == StatusCodes.Status400BadRequest;
        response.Description = ProblemDetailsSetup.DefaultDetail(status);

        // The general kind for the status; a 502 is always Stream's refusal (Stream/StreamErrors.cs, above this floor).
        var kind = status == StatusCodes.Status502BadGateway
            ? new ApiProblem("stream-refused", status, "The chat provider refused the request")
            : ApiProblem.ForStatus(status);
        var example = new JsonObject
        {
            ["status"] = status,
            ["detail"] = ProblemDetailsSetup.DefaultDetail(status),
            ["traceId"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
            [ApiProblem.CodeMember] = kind.Code,
            [ApiProblem.ErrorMember] = kind.Error,
        };
        response.Content = new Dictionary<string, OpenApiMediaType>
        {
            ["application/problem+json"] = new()
            {
                Schema = new OpenApiSchemaReference(validation ? ValidationProblemSchema : ProblemSchema, document),
                Example = example,
            },
        };
        if (status is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers = new Dictionary<string, IOpenApiHeader>
            {
                ["Retry-After"] = new OpenApiHeader
                {
                    Description = "Seconds to wait before trying again, when the service (or Stream) knows.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "1" },
                },
            };
        }
    }

    public static Task DescribeDocumentAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "AppointmentChat",
            Version = "v1",
            Description = "Stream Chat tokens, appointment channels, chat lists, webhooks and push for the veterinary apps. "
                + "Every error is application/problem+json with a sentence in 'detail'.",
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT",
            Description = "A JWT from your identity provider (in Development: `dotnet run --project src/AppointmentChat.Api -- dev-token --user vet-1 --role vet`).",
        };
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>();
        document.Components.Schemas[ProblemSchema] = Problem(validation: false);
        document.Components.Schemas[ValidationProblemSchema] = Problem(validation: true);
        ApiNulls.Describe(document);
        return Task.CompletedTask;
    }

    /// <summary>
    /// What every error body holds: RFC 9457's members as ASP.NET Core writes them (<c>type</c> and <c>title</c> only for
    /// statuses it knows), the <c>detail</c> sentence the service always sets, the <c>traceId</c> it always adds, and the
    /// problem code contract's <c>code</c> and <c>error</c>.
    /// </summary>
    private static OpenApiSchema Problem(bool validation)
    {
        var schema = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = validation
                ? "A problem (RFC 9457) about the request; 'errors' names each field at fault, when fields are."
                : "A problem (RFC 9457).",
            Required = new HashSet<string> { "status", "detail", "traceId", ApiProblem.CodeMember, ApiProblem.ErrorMember },
            AdditionalPropertiesAllowed = false,
            Properties = new Dictionary<string, IOpenApiSchema>
            {
                ["type"] = Text("A URI for the kind of problem (for statuses ASP.NET Core has one for)."),
                ["title"] = Text("The status's short name (for statuses ASP.NET Core has one for)."),
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Description = "The HTTP status." },
                ["detail"] = Text("A sentence for people: what went wrong and what to do."),
                ["instance"] = Text("The request's path."),
                ["traceId"] = Text("The request's trace id, to quote when reporting it."),
                [ApiProblem.CodeMember] = new OpenApiSchema
                {
                    Type = JsonSchemaType.String,
                    Pattern = "^[a-z]+(-[a-z]+)*$",
                    Description = "A stable, kebab-case problem code for code to act on, never the English (docs/api.md lists them).",
                },
                [ApiProblem.ErrorMember] = Text("A short English message (for code written against the guide, which reads 'error')."),
            },
        };
        if (validation)
        {
            schema.Properties["errors"] = new OpenApiSchema
            {
                Type = JsonSchemaType.Object,
                Description = "Each field at fault (its JSON name), with what is wrong with it.",
                AdditionalProperties = new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.String } },
            };
        }

        return schema;
    }

    private static OpenApiSchema Text(string description) => new() { Type = JsonSchemaType.String, Description = description };
}
