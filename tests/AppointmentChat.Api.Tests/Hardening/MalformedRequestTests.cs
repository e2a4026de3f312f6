using System.Net;
using Microsoft.AspNetCore.Http;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace AppointmentChat.Api.Tests.Hardening;

/// <summary>
/// Every row of <see cref="MalformedRequests"/> against the real service: a 4xx ProblemDetails that names the
/// problem (the field, where one is at fault), never a 5xx, no error logged, and nothing changed in the
/// database or in Stream.
/// </summary>
public abstract class MalformedRequestTests(HardeningFixture fixture)
{
    public static TheoryData<string> Cases() => MalformedRequests.Names();

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AMalformedRequestGetsA4xxProblemNamingItAndChangesNothing(string name)
    {
        var (stack, world) = await fixture.StartAsync();
        var malformed = MalformedRequests.All[name];
        var errorsBefore = stack.App.Logs.Lines.Count(l => l.Level >= LogLevel.Error);
        var before = await StateSnapshot.TakeAsync(stack);

        using var request = malformed.Request(world);
        using var response = await world.Client(stack.App, malformed.Caller).SendAsync(request);

        if (malformed.RefusedByKestrel)
        {
            Assert.Equal((HttpStatusCode)malformed.Status, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
        else
        {
            var problem = await response.ShouldBeProblemAsync((HttpStatusCode)malformed.Status, malformed.Field);
            var detail = problem.GetProperty("detail").GetString()!;
            if (malformed.Status == StatusCodes.Status400BadRequest)
            {
                Assert.NotEqual(ProblemDetailsSetup.DefaultDetail(StatusCodes.Status400BadRequest), detail);
            }

            Assert.DoesNotContain("System.", detail, StringComparison.Ordinal); // no .NET type names or stack traces
        }
        var after = await StateSnapshot.TakeAsync(stack);
        Assert.Null(after.DifferenceFrom(before));
        Assert.Equal(errorsBefore, stack.App.Logs.Lines.Count(l => l.Level >= LogLevel.Error));
    }
}

public sealed class MalformedRequestTestsOnSqlite(SqliteHardening fixture) : MalformedRequestTests(fixture), IClassFixture<SqliteHardening>;

public sealed class MalformedRequestTestsOnPostgres(PostgresHardening fixture) : MalformedRequestTests(fixture), IClassFixture<PostgresHardening>;
