using AppointmentChat.StreamEmulator;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace AppointmentChat.Api.Stream;

/// <summary>
/// Where Stream's REST API is: <c>STREAM_CHAT_URL</c>, or — with the built-in emulator — this service's
/// own <c>/stream</c>, known once the server is listening.
/// </summary>
internal sealed class StreamEndpoint
{
    private readonly TaskCompletionSource<Uri> _baseUri = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamEndpoint(IOptions<StreamOptions> options)
    {
        if (!options.Value.UseEmulator)
        {
            _baseUri.SetResult(WithTrailingSlash(new Uri(options.Value.BaseUrl)));
        }
    }

    /// <summary>The base URI, ending in '/'. With the emulator, waits until the server has started.</summary>
    public ValueTask<Uri> BaseUriAsync(CancellationToken cancellationToken) =>
        _baseUri.Task.IsCompletedSuccessfully ? new(_baseUri.Task.Result) : new(_baseUri.Task.WaitAsync(cancellationToken));

    public void UseEmbeddedEmulatorAt(Uri serviceAddress) =>
        _baseUri.TrySetResult(WithTrailingSlash(new Uri(serviceAddress, StreamOptions.EmulatorPath.TrimStart('/'))));

    private static Uri WithTrailingSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}

/// <summary>
/// With no <c>STREAM_API_KEY</c>, the service is its own Stream: once listening, it points its Stream client
/// and the emulator's webhooks at itself over loopback, and says so in one log line.
/// </summary>
internal sealed partial class EmbeddedStreamEmulator(
    IOptions<StreamOptions> options,
    StreamEndpoint endpoint,
    EmulatorSettings emulator,
    IServer server,
    IHostApplicationLifetime lifetime,
    ILogger<EmbeddedStreamEmulator> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var stream = options.Value;
        if (!stream.UseEmulator)
        {
            LogStream(logger, stream.BaseUrl, stream.ApiKey!);
            return Task.CompletedTask;
        }

        lifetime.ApplicationStarted.Register(() =>
        {
            var self = LoopbackAddress(server);
            endpoint.UseEmbeddedEmulatorAt(self);
            var webhooks = new Uri(self, "api/webhooks/stream");
            var streamApi = new Uri(self, StreamOptions.EmulatorPath.TrimStart('/'));
            emulator.WebhookUrl = webhooks;
            LogEmulator(logger, streamApi, StreamOptions.EmulatorApiKey, webhooks);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The first address the server listens on, with a wildcard host made into loopback.</summary>
    private static Uri LoopbackAddress(IServer server)
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var address = addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) ?? addresses.First();
        var uri = new UriBuilder(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = "127.0.0.1";
        }

        uri.Path = "/";
        return uri.Uri;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream: no STREAM_API_KEY, so the built-in emulator serves the Stream API at {BaseUrl} (API key {ApiKey}); its webhooks go to {WebhookUrl}")]
    private static partial void LogEmulator(ILogger logger, Uri baseUrl, string apiKey, Uri webhookUrl);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stream: {BaseUrl} (API key {ApiKey})")]
    private static partial void LogStream(ILogger logger, string baseUrl, string apiKey);
}
