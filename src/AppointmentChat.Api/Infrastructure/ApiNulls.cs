using Microsoft.OpenApi;

namespace AppointmentChat.Api.Infrastructure;

/// <summary>
/// The generator reads C# nullability: a <c>string?</c> becomes a required property that may be null. On the wire it is
/// otherwise: the service writes no null (<see cref="ApiJson"/>: <c>WhenWritingNull</c>), so in a body the service
/// writes, such a property is optional and never null; and in a body it reads, a required property sent as null is
/// refused like a missing one (400), so it is not nullable either. Optional request properties may still be sent as null.
/// </summary>
internal static class ApiNulls
{
    public static void Describe(OpenApiDocument document)
    {
        var written = new HashSet<string>(StringComparer.Ordinal);
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (var operation in (document.Paths ?? []).Values.SelectMany(path => path.Operations?.Values ?? Enumerable.Empty<OpenApiOperation>()))
        {
            foreach (var media in operation.RequestBody?.Content?.Values ?? [])
            {
                Reach(document, media.Schema, read);
            }

            foreach (var (status, response) in operation.Responses ?? new OpenApiResponses())
            {
                if (status.StartsWith('2'))
                {
                    foreach (var media in response.Content?.Values ?? [])
                    {
                        Reach(document, media.Schema, written);
                    }
                }
            }
        }

        var schemas = document.Components?.Schemas ?? new Dictionary<string, IOpenApiSchema>();
        foreach (var name in written.Except(read))
        {
            if (Get(schemas, name) is OpenApiSchema { Properties: { } properties } schema)
            {
                foreach (var property in properties.Keys.Where(p => IsNullable(properties[p])).ToList())
                {
                    properties[property] = NotNull(properties[property]);
                    schema.Required?.Remove(property);
                }
            }
        }

        foreach (var name in read.Except(written))
        {
            if (Get(schemas, name) is OpenApiSchema { Properties: { } properties, Required: { } required })
            {
                foreach (var property in required.Where(properties.ContainsKey))
                {
                    properties[property] = NotNull(properties[property]);
                }
            }
        }
    }

    /// <summary>Collects the names of the component schemas <paramref name="schema"/> uses, however deep.</summary>
    private static void Reach(OpenApiDocument document, IOpenApiSchema? schema, HashSet<string> names)
    {
        if (schema is OpenApiSchemaReference reference)
        {
            if (reference.Reference.Id is { } id && names.Add(id) && Get(document.Components?.Schemas, id) is { } target)
            {
                Reach(document, target, names);
            }

            return;
        }

        if (schema is null)
        {
            return;
        }

        var children = (schema.Properties?.Values ?? []).Concat(schema.AllOf ?? []).Concat(schema.OneOf ?? []).Concat(schema.AnyOf ?? [])
            .Append(schema.Items).Append(schema.AdditionalProperties);
        foreach (var child in children)
        {
            Reach(document, child, names);
        }
    }

    public static T? Get<T>(IDictionary<string, T>? dictionary, string key) where T : class =>
        dictionary is not null && dictionary.TryGetValue(key, out var value) ? value : null;

    private static bool IsNullOnly(IOpenApiSchema schema) => schema is OpenApiSchema { Type: JsonSchemaType.Null };

    private static bool IsNullable(IOpenApiSchema schema) =>
        schema is OpenApiSchema concrete && (concrete.Type?.HasFlag(JsonSchemaType.Null) == true || concrete.OneOf?.Any(IsNullOnly) == true);

    private static IOpenApiSchema NotNull(IOpenApiSchema schema)
    {
        if (schema is not OpenApiSchema concrete)
        {
            return schema;
        }

        // A nullable enum or object: oneOf [{type: null}, {$ref}].
        if (concrete.OneOf?.Where(s => !IsNullOnly(s)).ToList() is [var single] && concrete.OneOf.Count == 2)
        {
            return single;
        }

        if (concrete.Type is { } type)
        {
            concrete.Type = type & ~JsonSchemaType.Null;
        }

        return concrete;
    }
}
