using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using AppointmentChat.Api.Tests.Infrastructure;

namespace AppointmentChat.Api.Tests.Stream;

/// <summary>The emulator takes channel uploads as Stream does: members only, within the app's upload config, served back by URL.</summary>
public sealed class EmulatorUploadTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private static readonly byte[] Png = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4];

    private EmulatorHost Emulator { get; } = fixture.ForNextTest();

    [Fact]
    public async Task AMemberUploadsAPhotoAndItsUrlServesTheBytesWithTheirType()
    {
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);

        var (status, body) = await UploadAsync(Emulator, channel, "image", EmulatorHost.UserToken(owner), "paw.png", "image/png", Png);

        Assert.Equal(201, status);
        var url = body["file"]!.GetValue<string>();
        Assert.Equal(url, body["thumb_url"]!.GetValue<string>());
        Assert.NotNull(body["duration"]);
        using var served = await Emulator.Http.GetAsync(new Uri(url));
        Assert.Equal(200, (int)served.StatusCode);
        Assert.Equal("image/png", served.Content.Headers.ContentType!.MediaType);
        Assert.Equal(Png, await served.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AFileUploadAnswersItsUrlWithoutAThumbnail()
    {
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);

        var (status, body) = await UploadAsync(Emulator, channel, "file", EmulatorHost.UserToken(vet), "lab report.pdf", "application/pdf", "%PDF-1.7"u8.ToArray());

        Assert.Equal(201, status);
        Assert.Null(body["thumb_url"]);
        using var served = await Emulator.Http.GetAsync(new Uri(body["file"]!.GetValue<string>()));
        Assert.Equal("application/pdf", served.Content.Headers.ContentType!.MediaType);
        Assert.Equal("%PDF-1.7"u8.ToArray(), await served.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task SomeoneWhoIsNotAMemberCannotUploadToTheChannel()
    {
        var (vet, owner, stranger) = (Ids.New("vet"), Ids.New("owner"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        await Emulator.CreateChannelAsync(Ids.New("appointment"), [stranger]);

        var (status, body) = await UploadAsync(Emulator, channel, "image", EmulatorHost.UserToken(stranger), "paw.png", "image/png", Png);

        Assert.Equal((403, 17), (status, body["code"]!.GetValue<int>()));
        Assert.Contains("UploadAttachment", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AServerSideUploadNamesTheUploaderAndAnUploadWithoutAFileIsRefused()
    {
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);

        var (anonymous, anonymousBody) = await UploadAsync(Emulator, channel, "file", EmulatorHost.ServerToken, "notes.txt", "text/plain", "hi"u8.ToArray());
        var (named, _) = await UploadAsync(Emulator, channel, "file", EmulatorHost.ServerToken, "notes.txt", "text/plain", "hi"u8.ToArray(), user: vet);
        var (noFile, noFileBody) = await UploadAsync(Emulator, channel, "file", EmulatorHost.UserToken(vet), null, "text/plain", []);

        Assert.Equal((400, 4), (anonymous, anonymousBody["code"]!.GetValue<int>()));
        Assert.Equal(201, named);
        Assert.Equal((400, 4), (noFile, noFileBody["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task TheImageEndpointTakesOnlyImages()
    {
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await Emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);

        var (status, body) = await UploadAsync(Emulator, channel, "image", EmulatorHost.UserToken(owner), "report.pdf", "application/pdf", "%PDF"u8.ToArray());

        Assert.Equal((400, 4), (status, body["code"]!.GetValue<int>()));
    }

    [Fact]
    public async Task TheAppsUploadConfigRefusesBlockedTypesAndOversizedFilesAndGetAppShowsIt()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        var channel = await emulator.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
        var (updated, _, _) = await emulator.CallAsync(HttpMethod.Patch, "app", new JsonObject
        {
            ["file_upload_config"] = new JsonObject
            {
                ["blocked_file_extensions"] = new JsonArray(".exe", ".zip"),
                ["blocked_mime_types"] = new JsonArray("application/x-msdownload", "application/x-7z-compressed"),
            },
            ["image_upload_config"] = new JsonObject { ["size_limit"] = 1024 },
        });
        var token = EmulatorHost.UserToken(owner);

        var exe = await UploadAsync(emulator, channel, "file", token, "setup.EXE", "application/octet-stream", [0x4D, 0x5A]);
        var zip = await UploadAsync(emulator, channel, "file", token, "records.zip", "application/zip", [0x50, 0x4B]);
        var sevenZip = await UploadAsync(emulator, channel, "file", token, "records.bin", "application/x-7z-compressed", [0x37, 0x7A]);
        var pdf = await UploadAsync(emulator, channel, "file", token, "report.pdf", "application/pdf", "%PDF"u8.ToArray());
        var big = await UploadAsync(emulator, channel, "image", token, "big.png", "image/png", new byte[1025]);
        var small = await UploadAsync(emulator, channel, "image", token, "small.png", "image/png", new byte[1024]);
        var (_, app, _) = await emulator.CallAsync(HttpMethod.Get, "app");

        Assert.Equal(201, updated);
        Assert.Equal((400, 4), (exe.Status, exe.Body["code"]!.GetValue<int>()));
        Assert.Contains(".exe", exe.Body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal((400, 4), (zip.Status, zip.Body["code"]!.GetValue<int>()));
        Assert.Equal((400, 4), (sevenZip.Status, sevenZip.Body["code"]!.GetValue<int>()));
        Assert.Equal(201, pdf.Status);
        Assert.Equal((413, 22), (big.Status, big.Body["code"]!.GetValue<int>()));
        Assert.Equal(201, small.Status);
        Assert.Equal(".exe", app["app"]!["file_upload_config"]!["blocked_file_extensions"]![0]!.GetValue<string>());
        Assert.Equal(1024, app["app"]!["image_upload_config"]!["size_limit"]!.GetValue<int>());
    }

    [Fact]
    public async Task UpdateAppRefusesAnExtensionWithoutItsDotAndChangesNothing()
    {
        await using var emulator = await EmulatorHost.StartAsync();

        var (status, body, _) = await emulator.CallAsync(HttpMethod.Patch, "app", new JsonObject
        {
            ["image_upload_config"] = new JsonObject { ["size_limit"] = 1024 },
            ["file_upload_config"] = new JsonObject { ["blocked_file_extensions"] = new JsonArray(".exe", "dll") },
        });
        var (userCall, userBody, _) = await emulator.CallAsync(HttpMethod.Patch, "app", new JsonObject { ["file_upload_config"] = new JsonObject() }, EmulatorHost.UserToken(Ids.New("owner")));
        var (_, app, _) = await emulator.CallAsync(HttpMethod.Get, "app");

        Assert.Equal((400, 4), (status, body["code"]!.GetValue<int>()));
        Assert.Contains("startswith", body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal((403, 17), (userCall, userBody["code"]!.GetValue<int>()));
        Assert.Empty(app["app"]!["file_upload_config"]!["blocked_file_extensions"]!.AsArray());
        Assert.Equal(0, app["app"]!["image_upload_config"]!["size_limit"]!.GetValue<int>());
    }

    [Fact]
    public async Task WithAStateFileUploadsAndTheUploadSettingsOutliveARestartAndResetClearsThem()
    {
        var state = Path.Combine(Directory.CreateTempSubdirectory("appointment-chat-uploads-").FullName, "emulator-state.json");
        var (vet, owner) = (Ids.New("vet"), Ids.New("owner"));
        string path;
        await using (var before = await EmulatorHost.StartAsync(settings => settings.StateFile = state))
        {
            var channel = await before.CreateChannelAsync(Ids.New("appointment"), [vet, owner]);
            await before.CallAsync(HttpMethod.Patch, "app", new JsonObject { ["file_upload_config"] = new JsonObject { ["blocked_file_extensions"] = new JsonArray(".exe") } });
            var (status, body) = await UploadAsync(before, channel, "image", EmulatorHost.UserToken(owner), "paw.png", "image/png", Png);
            Assert.Equal(201, status);
            path = new Uri(body["file"]!.GetValue<string>()).AbsolutePath.TrimStart('/');
        }

        await using var after = await EmulatorHost.StartAsync(settings => settings.StateFile = state);
        using (var served = await after.Http.GetAsync(path))
        {
            Assert.Equal(200, (int)served.StatusCode);
            Assert.Equal("image/png", served.Content.Headers.ContentType!.MediaType);
            Assert.Equal(Png, await served.Content.ReadAsByteArrayAsync());
        }

        var (_, app, _) = await after.CallAsync(HttpMethod.Get, "app");
        Assert.Equal(".exe", app["app"]!["file_upload_config"]!["blocked_file_extensions"]![0]!.GetValue<string>());

        var (reset, _, _) = await after.CallAsync(HttpMethod.Post, "_emulator/reset", []);
        Assert.Equal(200, reset);

        await using var afterReset = await EmulatorHost.StartAsync(settings => settings.StateFile = state);
        using var gone = await afterReset.Http.GetAsync(path);
        Assert.Equal(404, (int)gone.StatusCode);
    }

    [Fact]
    public async Task AnUnknownUploadUrlIsNotFound()
    {
        using var response = await Emulator.Http.GetAsync($"uploads/{Guid.NewGuid():N}/paw.png");

        Assert.Equal(404, (int)response.StatusCode);
    }

    /// <summary>An upload as stream-chat-js sends it: a multipart form with the part <c>file</c> (and <c>user</c>, server-side).</summary>
    internal static async Task<(int Status, JsonObject Body)> UploadAsync(EmulatorHost emulator, string channel, string kind, string token, string? fileName, string contentType, byte[] bytes, string? user = null)
    {
        using var form = new MultipartFormDataContent();
        if (fileName is not null)
        {
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            form.Add(file, "file", fileName);
        }
        else
        {
            form.Add(new StringContent("not a file"), "note");
        }

        if (user is not null)
        {
            form.Add(new StringContent(new JsonObject { ["id"] = user }.ToJsonString()), "user");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"channels/messaging/{channel}/{kind}?api_key={EmulatorHost.ApiKey}") { Content = form };
        request.Headers.TryAddWithoutValidation("Authorization", token);
        request.Headers.TryAddWithoutValidation("Stream-Auth-Type", "jwt");
        using var response = await emulator.Http.SendAsync(request);
        return ((int)response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }
}
