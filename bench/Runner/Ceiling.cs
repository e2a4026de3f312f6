using System.Globalization;

namespace AppointmentChat.Bench;

/// <summary>The ceiling's measurements: rounds at the benchmark's connections (interleaved with the service's), and a curve.</summary>
internal sealed class CeilingResult
{
    public List<WrkResult> Rounds { get; } = [];

    public List<WrkResult> Curve { get; } = [];

    public double PeakRssMiB { get; set; }

    public TimeSpan WarmUp { get; set; }

    /// <summary>The reference every ratio is taken against: the median round.</summary>
    public WrkResult Token => WrkResult.Median(Rounds);
}

/// <summary>
/// <c>bench/Ceiling</c>, kept running for the whole benchmark so that it can be measured again next to each
/// service measurement: on a shared, noisy machine a ratio is only honest between runs made close together.
/// </summary>
internal sealed class Ceiling : IAsyncDisposable
{
    private readonly Proc _process;
    private readonly Uri _url;
    private readonly string _script;
    private readonly BenchOptions _options;
    private readonly string _work;

    private Ceiling(Proc process, Uri url, BenchOptions options, string work)
    {
        var (fixedHeaders, varying, requests) = BenchProgram.TokenLoad();
        (_process, _url, _options, _work) = (process, url, options, work);
        _script = Wrk.RoundRobin("POST", "/api/chat/token", fixedHeaders, varying, requests);
    }

    public CeilingResult Result { get; } = new();

    public static async Task<Ceiling> StartAsync(BenchOptions options, string work)
    {
        var port = Proc.FreePort();
        var process = Proc.Start("dotnet", [BenchProgram.Dll(options, "bench/Ceiling", "Ceiling"), "--urls", $"http://127.0.0.1:{port}",
            "--jwt-secret", Credentials.JwtSecret, "--stream-secret", Credentials.StreamSecret]);
        await process.WaitUntilOkAsync(new Uri($"http://127.0.0.1:{port}/health/live"), TimeSpan.FromSeconds(30));
        var ceiling = new Ceiling(process, new Uri($"http://127.0.0.1:{port}/api/chat/token"), options, work);

        ceiling.Result.WarmUp = await Warming.WarmUpAsync(process, "ceiling", d => Wrk.RunAsync(ceiling._url, ceiling._script, options.Connections, d, work));
        await ceiling.MeasureAsync();
        foreach (var connections in BenchProgram.CurveConnections)
        {
            ceiling.Result.Curve.Add(await Wrk.RunAsync(ceiling._url, ceiling._script, connections, BenchProgram.Half(options), work));
        }

        ceiling.Result.PeakRssMiB = process.PeakRssMiB();
        return ceiling;
    }

    /// <summary>One more round at the benchmark's connections; returns it (it is also among <see cref="CeilingResult.Rounds"/>).</summary>
    public async Task<WrkResult> MeasureAsync()
    {
        var (measured, cpu) = await CpuUse.DuringAsync([_process.Id], () => Wrk.RunAsync(_url, _script, _options.Connections, _options.Duration, _work));
        var round = measured with { Cpu = cpu };
        Result.Rounds.Add(round);
        BenchProgram.Log(string.Create(CultureInfo.InvariantCulture, $"ceiling: {round.RequestsPerSecond:F0} req/s, p99 {round.P99Ms:F2} ms, {cpu.Stolen:F2} cores taken by the host"));
        return round;
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
