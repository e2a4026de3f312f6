using System.Net.Http.Json;
using System.Text.Json;
using AppointmentChat.Api.Tests.Infrastructure;
using AppointmentChat.Api.Tests.Webhooks;

namespace AppointmentChat.Api.Tests.Organisations;

/// <summary>A service with the emulator and a fake FCM, started per test, on one database; and the settings calls.</summary>
public abstract class OrganisationTestService(DatabaseKind kind) : IAsyncLifetime
{
    private FakeFcm? _fcm;
    private ServiceWithEmulator? _stack;

    protected FakeFcm Fcm => _fcm!;

    public async ValueTask InitializeAsync() => _fcm = await FakeFcm.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_stack is not null)
        {
            await _stack.DisposeAsync();
        }

        if (_fcm is not null)
        {
            await _fcm.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    protected async Task<ServiceWithEmulator> StartAsync(IDictionary<string, string?>? extra = null)
    {
        // Before the emulator starts: skipping after it would leave it running.
        if (kind == DatabaseKind.Postgres)
        {
            await TestDatabase.RequirePostgresAsync();
        }

        var settings = WebhookFixture.Settings(Fcm);
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return _stack = await ServiceWithEmulator.StartAsync(kind, settings);
    }

    protected static string Settings(string organisationId) => $"/api/organisations/{organisationId}/settings";

    protected static HttpClient AdminOf(ChatApp app, string organisationId) => app.ClientFor("admin-" + organisationId, "admin", organisationId);

    /// <summary>Sets the organisation's own settings as the PMS does, and answers what now applies.</summary>
    protected static async Task<JsonElement> PutSettingsAsync(ChatApp app, string organisationId, object body) =>
        await (await app.ClientFor("pms", "service").PutAsJsonAsync(Settings(organisationId), body)).ShouldBeOkJsonAsync();
}
