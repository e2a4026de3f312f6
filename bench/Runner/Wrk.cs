using System.Globalization;
using System.Text.RegularExpressions;

namespace AppointmentChat.Bench;

/// <summary>What one wrk run measured.</summary>
internal sealed record WrkResult(int Connections, double RequestsPerSecond, double P50Ms, double P99Ms, long Requests, long Errors)
{
    /// <summary>Where the CPU went during the run, when it was measured.</summary>
    public CpuUse? Cpu { get; init; }

    public static WrkResult Sum(IReadOnlyList<WrkResult> runs) => new(
        runs.Sum(r => r.Connections),
        runs.Sum(r => r.RequestsPerSecond),
        runs.Max(r => r.P50Ms),
        runs.Max(r => r.P99Ms),
        runs.Sum(r => r.Requests),
        runs.Sum(r => r.Errors));

    /// <summary>The run with the median throughput (of an odd number of runs: the middle one).</summary>
    public static WrkResult Median(IReadOnlyList<WrkResult> runs) => runs.OrderBy(r => r.RequestsPerSecond).ElementAt(runs.Count / 2);

    /// <summary>
    /// The run with the median throughput, carrying the median p99 of all the runs (which may be another run's): for
    /// targets on throughput and on latency alike. Null when there were none.
    /// </summary>
    public static WrkResult? Medians(IReadOnlyList<WrkResult> runs) =>
        runs.Count == 0 ? null : Median(runs) with { P99Ms = runs.OrderBy(r => r.P99Ms).ElementAt(runs.Count / 2).P99Ms };
}

/// <summary>Drives load with wrk (Debian package) and a Lua script, and reads its report.</summary>
internal static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(Uri url, string script, int connections, TimeSpan duration, string workFolder)
    {
        var scriptFile = Path.Combine(workFolder, $"wrk-{Guid.NewGuid():N}.lua");
        await File.WriteAllTextAsync(scriptFile, script);
        var threads = Math.Min(Environment.ProcessorCount, connections);
        await using var wrk = Proc.Start("wrk",
            ["-t" + threads, "-c" + connections, "-d" + (int)Math.Ceiling(duration.TotalSeconds) + "s", "--timeout", "5s", "--latency", "-s", scriptFile, url.ToString()]);
        await wrk.WaitAsync(duration + TimeSpan.FromMinutes(2));
        File.Delete(scriptFile);
        return Parse(wrk.Output, connections);
    }

    internal static WrkResult Parse(string output, int connections)
    {
        double Percentile(string p)
        {
            var match = Regex.Match(output, $@"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
            if (!match.Success)
            {
                throw new InvalidOperationException("wrk printed no latency distribution:\n" + output);
            }

            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
        }

        var rps = double.Parse(Regex.Match(output, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var requests = long.Parse(Regex.Match(output, @"(\d+) requests in").Groups[1].Value, CultureInfo.InvariantCulture);
        var non2xx = Regex.Match(output, @"Non-2xx or 3xx responses: (\d+)");
        var socketErrors = Regex.Match(output, @"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)");
        var errors = (non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0)
            + (socketErrors.Success ? Enumerable.Range(1, 4).Sum(i => long.Parse(socketErrors.Groups[i].Value, CultureInfo.InvariantCulture)) : 0);
        return new WrkResult(connections, rps, Percentile("50"), Percentile("99"), requests, errors);
    }

    /// <summary>
    /// A script that sends requests round-robin from a list prepared in advance (each with its own body and
    /// the values of <paramref name="varying"/> headers, e.g. a signed webhook or a caller's JWT), spread across
    /// wrk's threads. The list is built in chunks: LuaJIT limits the constants of one function.
    /// </summary>
    public static string RoundRobin(
        string method,
        string path,
        IReadOnlyDictionary<string, string> fixedHeaders,
        IReadOnlyList<string> varying,
        IReadOnlyList<(string Body, string[] Values)> requests)
    {
        var lua = new System.Text.StringBuilder();
        lua.AppendLine("local requests = {}");
        foreach (var chunk in requests.Chunk(2000))
        {
            lua.AppendLine("for _, r in ipairs((function() return {");
            foreach (var (body, values) in chunk)
            {
                lua.Append("  {").Append(Quote(body));
                foreach (var value in values)
                {
                    lua.Append(',').Append(Quote(value));
                }

                lua.AppendLine("},");
            }

            lua.AppendLine("} end)()) do requests[#requests + 1] = r end");
        }

        lua.AppendLine("local threads = 0");
        lua.AppendLine("function setup(thread) thread:set('offset', threads); threads = threads + 1 end");
        lua.AppendLine("function init(args) i = offset * math.floor(#requests / 2) end");
        lua.AppendLine("function request()");
        lua.AppendLine("  i = i + 1");
        lua.AppendLine("  local r = requests[(i % #requests) + 1]");
        lua.Append("  local h = {");
        foreach (var (name, value) in fixedHeaders)
        {
            lua.Append('[').Append(Quote(name)).Append("]=").Append(Quote(value)).Append(',');
        }

        for (var v = 0; v < varying.Count; v++)
        {
            lua.Append('[').Append(Quote(varying[v])).Append("]=r[").Append(v + 2).Append("],");
        }

        lua.AppendLine("}");
        lua.AppendLine($"  if r[1] == '' then return wrk.format({Quote(method)}, {Quote(path)}, h) end");
        lua.AppendLine($"  return wrk.format({Quote(method)}, {Quote(path)}, h, r[1])");
        lua.AppendLine("end");
        return lua.ToString();
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
