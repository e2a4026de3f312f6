using System.Text.Json;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Operations;

/// <summary>/health/dependencies says which uploads the Stream app takes that a practice should refuse (docs/stream.md, Attachments).</summary>
public sealed class UploadSettingsCheckTests
{
    [Fact]
    public async Task TheStreamCheckNamesTheProgramsAndArchivesTheStreamAppStillTakesAndStaysHealthy()
    {
        await using var stack = await ServiceWithEmulator.StartAsync(settings: new Dictionary<string, string?> { ["Health:DependencyCheckInterval"] = "00:00:00.200" });
        var open = await StreamCheckAsync(stack.App);

        var (updated, _, _) = await stack.Emulator.CallAsync(HttpMethod.Patch, "app", new JsonObject
        {
            ["file_upload_config"] = new JsonObject { ["blocked_file_extensions"] = new JsonArray(".exe", ".msi", ".bat", ".cmd", ".ps1", ".js", ".jar", ".apk", ".zip", ".rar", ".7z") },
        });
        await Task.Delay(300); // past the interval: the next ask checks Stream again
        var closed = await StreamCheckAsync(stack.App);

        Assert.Equal(201, updated);
        Assert.Equal("Healthy", open.GetProperty("status").GetString());
        Assert.Contains(".exe, .msi", open.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(("Healthy", "Stream answers."), (closed.GetProperty("status").GetString(), closed.GetProperty("description").GetString()));
    }

    private static async Task<JsonElement> StreamCheckAsync(ChatApp app)
    {
        var response = await app.AnonymousClient().GetAsync("/health/dependencies");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("stream").Clone();
    }
}
