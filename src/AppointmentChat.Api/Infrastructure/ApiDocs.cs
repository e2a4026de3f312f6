using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>Section <c>Docs</c>: the OpenAPI document and the reference page; on by default in Development only.</summary>
internal sealed class DocsOptions
{
    public const string Section = "Docs";

    public bool? Enabled { get; set; }
}

/// <summary>
/// The OpenAPI 3.1 document at <c>/openapi/v1.json</c>, from which the apps' client package generates its types, and the
/// Scalar reference page at <c>/docs</c>. Generated from the endpoints (bodies from their types, operation ids from
/// <c>WithName</c>, statuses from <c>ProducesProblems</c>, parameters and examples from the metadata below), then made
/// exact by <see cref="ApiDocsTransformers"/>: what the serializer really writes, every problem's members, Retry-After.
/// </summary>
internal static class ApiDocs
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string PagePath = "/docs";

    public static IHostApplicationBuilder AddApiDocs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<DocsOptions>().BindConfiguration(DocsOptions.Section).ValidateOnStart();
        builder.Services.AddOpenApi(options =>
        {
            // The webhook body is any Stream event, read as a JsonElement: named for what it is in generated clients.
            options.CreateSchemaReferenceId = type => type.Type == typeof(System.Text.Json.JsonElement)
                ? "StreamWebhookEvent"
                : OpenApiOptions.CreateDefaultSchemaReferenceId(type);
            options.AddSchemaTransformer(ApiDocsTransformers.DescribeSchemaAsync);
            options.AddOperationTransformer(ApiDocsTransformers.DescribeOperationAsync);
            options.AddDocumentTransformer(ApiDocsTransformers.DescribeDocumentAsync);
        });
        return builder;
    }

    public static bool DocsEnabled(this WebApplication app) =>
        app.Configuration.GetSection(DocsOptions.Section).Get<DocsOptions>()?.Enabled ?? app.Environment.IsDevelopment();

    public static WebApplication MapApiDocs(this WebApplication app)
    {
        if (!app.DocsEnabled())
        {
            return app;
        }

        app.MapOpenApi(DocumentPath).AllowAnonymous();
        // Offline and self-contained: the system's fonts rather than fonts.scalar.com, and none of the buttons that lead
        // to Scalar's cloud (the "Ask AI" agent, the developer toolbar's Generate SDK / Deploy, the hosted API client).
        app.MapScalarApiReference(PagePath, options => options
            .WithTitle("AppointmentChat API")
            .WithOpenApiRoutePattern(DocumentPath)
            .AddPreferredSecuritySchemes(ApiDocsTransformers.BearerScheme)
            .DisableDefaultFonts()
            .DisableAgent()
            .DisableMcp()
            .DisableTelemetry()
            .HideDeveloperTools()
            .HideClientButton())
            .AllowAnonymous();
        return app;
    }

    /// <summary>
    /// Documents each status the endpoint itself answers with ProblemDetails. Statuses every endpoint can give (429 from the
    /// limit on failed authentication, 500) and those of every JSON body (400, 413, 415) are added by the transformer.
    /// </summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statuses)
        where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
        }

        return builder;
    }

    /// <summary>An example request body, written by the API's own JSON rules (so it cannot drift from what the service reads).</summary>
    public static TBuilder WithRequestExample<TBuilder>(this TBuilder builder, object example)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ApiExample(null, example));

    /// <summary>An example body of the answer with <paramref name="status"/>, written as the service writes it.</summary>
    public static TBuilder WithResponseExample<TBuilder>(this TBuilder builder, int status, object example)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ApiExample(status, example));

    /// <summary>
    /// The type of a query parameter that the handler takes as text to check by hand (so that a bad value gets a 400 naming
    /// it): an integer in a range.
    /// </summary>
    public static TBuilder DocumentsQueryInteger<TBuilder>(this TBuilder builder, string name, int minimum, int maximum, int @default, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new QueryParameterDoc(name, description, () => new OpenApiSchema
        {
            Type = JsonSchemaType.Integer,
            Format = "int32",
            Minimum = minimum.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Maximum = maximum.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Default = @default,
        }));

    /// <summary>The type of a query parameter taken as text: one of <paramref name="values"/>.</summary>
    public static TBuilder DocumentsQueryChoice<TBuilder>(this TBuilder builder, string name, IEnumerable<string> values, string description)
        where TBuilder : IEndpointConventionBuilder
    {
        var allowed = values.ToArray();
        return builder.WithMetadata(new QueryParameterDoc(name, description, () => new OpenApiSchema
        {
            Type = JsonSchemaType.String,
            Enum = [.. allowed.Select(v => (JsonNode)v)],
        }));
    }

    /// <summary>What a free-text query parameter holds.</summary>
    public static TBuilder DocumentsQueryText<TBuilder>(this TBuilder builder, string name, string description)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new QueryParameterDoc(name, description, () => new OpenApiSchema { Type = JsonSchemaType.String }));
}

/// <summary>An example body: of the request when <paramref name="Status"/> is null, else of that answer.</summary>
internal sealed record ApiExample(int? Status, object Value);

/// <summary>The schema and meaning of one query parameter, made afresh for each document.</summary>
internal sealed record QueryParameterDoc(string Name, string Description, Func<OpenApiSchema> Schema);
