using System.Net;
using System.Text.Json;

namespace AppointmentChat.Api.Tests.Infrastructure;

public static class ProblemAssertions
{
    /// <summary>
    /// Asserts a ProblemDetails response: the status, <c>application/problem+json</c>, a sentence in <c>detail</c>, a
    /// <c>code</c> documented in docs/api.md for this status with its documented <c>error</c> — and, when given, the
    /// expected code and the field named in <c>errors</c>.
    /// </summary>
    public static async Task<JsonElement> ShouldBeProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string? field = null, string? code = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status} but got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("detail", out var detail) && detail.GetString()!.Length > 10, $"No useful detail in {body}");
        Assert.True(problem.TryGetProperty("code", out var codeMember) && codeMember.ValueKind == JsonValueKind.String, $"No problem code in {body}");
        var actualCode = codeMember.GetString()!;
        Assert.True(DocumentedProblems.Codes.TryGetValue(actualCode, out var documented), $"The problem code '{actualCode}' is not in docs/api.md's table: {body}");
        Assert.True(documented.Status == ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture) || documented.Status == "other",
            $"docs/api.md gives '{actualCode}' status {documented.Status}, the service answered {(int)status}");
        Assert.Equal(documented.Error, problem.TryGetProperty("error", out var error) ? error.GetString() : null);
        if (code is not null)
        {
            Assert.Equal(code, actualCode);
        }

        if (field is not null)
        {
            Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _),
                $"Expected an error for '{field}' in {body}");
        }

        return problem;
    }

    public static async Task<JsonElement> ShouldBeOkJsonAsync(this HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status} but got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
