using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using AppointmentChat.Api.Infrastructure;
using AppointmentChat.Api.Tests.Channels;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.StreamEmulator;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>
/// Every error carries a stable <c>code</c> apps branch on and the guide's <c>error</c>; the codes are the ones
/// docs/api.md lists, each answered where the table says. (Every other test's <c>ShouldBeProblemAsync</c> checks
/// the members too.)
/// </summary>
public sealed class ProblemCodeTests(SqliteWithEmulator fixture) : IClassFixture<SqliteWithEmulator>
{
    private static DateTimeOffset SoonStart => DateTimeOffset.UtcNow.AddMinutes(2);

    [Fact]
    public void EveryProblemKindTheServiceDeclaresIsInTheDocsTableWithItsStatusAndErrorAndNothingElseIs()
    {
        var declared = LoadableTypes(typeof(ApiProblem).Assembly)
            .SelectMany(type => type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Where(field => field.FieldType == typeof(ApiProblem))
            .Select(field => (ApiProblem)field.GetValue(null)!)
            .ToList();

        Assert.True(declared.Count > 20, $"found only {declared.Count} problem kinds by reflection");
        Assert.Equal(declared.Count, declared.Select(kind => kind.Code).Distinct().Count());
        Assert.All(declared, kind => Assert.Matches("^[a-z]+(-[a-z]+)*$", kind.Code));
        var asDocumented = declared.ToDictionary(
            kind => kind.Code,
            kind => (Status: kind.Status == 0 ? "other" : kind.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), kind.Error));
        Assert.Equal(asDocumented.OrderBy(p => p.Key), DocumentedProblems.Codes.OrderBy(p => p.Key));
    }

    /// <summary>The service's types, but for the design-time ones (EF Core tooling) that need assemblies tests do not ship.</summary>
    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException partial)
        {
            return partial.Types.OfType<Type>();
        }
    }

    [Fact]
    public async Task TheChatCallsNameEachRefusalAnAppActsOn()
    {
        var stack = await fixture.StartAsync();
        var service = stack.App.ClientFor("pms", "service");

        var open = Scenario.New();
        await open.PushAsync(stack.App, SoonStart);
        var owner = stack.App.ClientFor(open.PetOwnerId, "pet-owner");
        await (await open.CreateChatAsync(stack.App.ClientFor("stranger-1", "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "not-a-participant");
        await (await open.CreateChatAsync(owner, new { appointmentId = open.AppointmentId, petOwnerId = "someone-else" })).ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "appointment-mismatch");
        await (await Scenario.New().CreateChatAsync(service)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "appointment-not-found");
        await open.CreateChatOkAsync(stack.App);
        await (await open.EndAsync(owner)).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "cannot-end-chat");
        await (await Scenario.New().EndAsync(service)).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "chat-not-found");

        var cancelled = Scenario.New();
        await cancelled.PushAsync(stack.App, SoonStart, status: "cancelled");
        await (await cancelled.CreateChatAsync(stack.App.ClientFor(cancelled.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "appointment-cancelled");

        var noShow = Scenario.New();
        await noShow.PushAsync(stack.App, SoonStart, status: "no-show");
        await (await noShow.CreateChatAsync(stack.App.ClientFor(noShow.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "appointment-closed");

        var past = Scenario.New();
        await past.PushAsync(stack.App, DateTimeOffset.UtcNow.AddHours(-3));
        await (await past.CreateChatAsync(stack.App.ClientFor(past.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(HttpStatusCode.Conflict, code: "chat-window-closed");

        var otherClinic = Scenario.New();
        var admin = stack.App.ClientFor("admin-1", "admin", "clinic-2");
        await (await admin.PutAsJsonAsync($"/api/appointments/{otherClinic.AppointmentId}", otherClinic.Facts(SoonStart))).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "other-organisation");
    }

    [Fact]
    public async Task TokensDevicesAndTheHttpLayerNameTheirRefusalsToo()
    {
        var stack = await fixture.StartAsync();
        var vet = stack.App.ClientFor("vet-codes", "vet");

        await (await vet.PostAsJsonAsync("/api/chat/token", new { userId = "vet-other" })).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "not-your-user-id");
        await (await vet.PostAsJsonAsync("/api/chat/token", new { userId = "bad id!" })).ShouldBeProblemAsync(HttpStatusCode.BadRequest, "userId", code: "invalid-request");
        await (await vet.PostRawAsync("/api/chat/token", "{}", "text/plain")).ShouldBeProblemAsync(HttpStatusCode.UnsupportedMediaType, code: "unsupported-media-type");
        await (await vet.DeleteAsync("/api/devices/no-such-device")).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "device-not-found");
        await (await vet.GetAsync("/api/no-such-endpoint")).ShouldBeProblemAsync(HttpStatusCode.NotFound, code: "not-found");
        await (await vet.DeleteAsync("/api/chat/token")).ShouldBeProblemAsync(HttpStatusCode.MethodNotAllowed, code: "method-not-allowed");

        var notAChatUser = stack.App.ClientFor("svc:" + new string('a', 80), "vet");
        await (await notAChatUser.PostAsJsonAsync("/api/chat/token", new { })).ShouldBeProblemAsync(HttpStatusCode.Forbidden, code: "not-a-chat-user");

        await (await stack.App.AnonymousClient().GetAsync("/api/chat/channels")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, code: "unauthorized");
        var expired = TestJwt.Create(TestJwt.Claims("vet-codes", ["vet"], null, TimeSpan.FromHours(1), DateTimeOffset.UtcNow.AddHours(-3)));
        await (await stack.App.ClientWithToken(expired).GetAsync("/api/chat/channels")).ShouldBeProblemAsync(HttpStatusCode.Unauthorized, code: "bearer-token-expired");
    }

    [Theory]
    [InlineData(400, HttpStatusCode.BadGateway, "stream-refused")]
    [InlineData(429, HttpStatusCode.ServiceUnavailable, "stream-rate-limited")]
    [InlineData(500, HttpStatusCode.ServiceUnavailable, "stream-unavailable")]
    public async Task AStreamFailureIsNamedAsStreamsNotTheCallers(int streamStatus, HttpStatusCode status, string code)
    {
        var stack = await fixture.StartAsync();
        var s = Scenario.New();
        await s.PushAsync(stack.App, SoonStart);
        stack.Emulator.Faults.Add(new FaultRule { Status = streamStatus, PathContains = "/" + s.ChannelId, Times = 20 });
        try
        {
            await (await s.CreateChatAsync(stack.App.ClientFor(s.PetOwnerId, "pet-owner"))).ShouldBeProblemAsync(status, code: code);
        }
        finally
        {
            stack.Emulator.Faults.Clear();
        }
    }
}
