using System.Diagnostics;
using System.Net.Http.Headers;

namespace AppointmentChat.Bench;

/// <summary>
/// Open-loop load at a fixed rate, as Stream sends webhooks: request n is due at start + n / rate whether or
/// not earlier ones were answered, and its latency is counted from when it was due (so a stall shows in the
/// percentiles instead of slowing the sender down, which wrk's closed loop would do).
/// </summary>
internal static class Paced
{
    /// <summary>A sender's client; one is kept across a warm-up and the measured run, so that its connections are open.</summary>
    public static HttpClient Client() => new(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    public static async Task<WrkResult> RunAsync(HttpClient http, Uri url, IReadOnlyList<(string Body, IReadOnlyDictionary<string, string> Headers)> requests, double rate, TimeSpan duration)
    {
        var total = (int)Math.Min(requests.Count, rate * duration.TotalSeconds);
        var latencies = new double[total];
        var failures = 0;
        var inFlight = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        for (var n = 0; n < total; n++)
        {
            var due = TimeSpan.FromSeconds(n / rate);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var index = n;
            inFlight.Add(Task.Run(async () =>
            {
                var (body, headers) = requests[index];
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                try
                {
                    using var response = await http.SendAsync(request);
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failures);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failures);
                }

                latencies[index] = (clock.Elapsed - due).TotalMilliseconds;
            }));
        }

        await Task.WhenAll(inFlight);
        var elapsed = clock.Elapsed;
        Array.Sort(latencies);
        double Percentile(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * total) - 1, 0, total - 1)];
        return new WrkResult(Connections: 0, total / elapsed.TotalSeconds, Percentile(0.50), Percentile(0.99), total, failures);
    }
}
