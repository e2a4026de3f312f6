using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace AppointmentChat.Bench;

/// <summary>
/// Open-loop load at a fixed rate, as Stream sends webhooks: request n is due at start + n / rate whether or
/// not earlier ones were answered, and its latency is counted from when it was due (so a stall shows in the
/// percentiles instead of slowing the sender down, which wrk's closed loop would do).
/// The sender shares the machine's two cores with the service, so it is kept light: each request is prepared as
/// the bytes of an HTTP/1.1 request and written on a kept-alive socket that has nothing in flight (HttpClient
/// cost ~115 µs of CPU a request, a fifth of a core at 3,000/s, all of it taken from the service being measured).
/// </summary>
internal sealed class PacedSender : IAsyncDisposable
{
    private readonly Connection[] _connections;
    private int _next;

    private PacedSender(Connection[] connections) => _connections = connections;

    public static async Task<PacedSender> ConnectAsync(Uri url, int connections)
    {
        var opened = new Connection[connections];
        for (var i = 0; i < connections; i++)
        {
            opened[i] = new Connection(url);
            await opened[i].EnsureOpenAsync();
        }

        return new PacedSender(opened);
    }

    /// <summary>The bytes of a POST of <paramref name="body"/> to <paramref name="url"/> with <paramref name="headers"/>.</summary>
    public static byte[] Request(Uri url, string body, IReadOnlyDictionary<string, string> headers)
    {
        var content = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"POST {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\nContent-Type: application/json\r\nContent-Length: {content.Length}\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }

        return [.. Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()), .. content];
    }

    /// <summary>
    /// Sends <paramref name="requests"/> at <paramref name="rate"/> for <paramref name="duration"/>;
    /// <paramref name="sending"/>, if given, is told the index of each request just before it is written.
    /// </summary>
    public async Task<WrkResult> RunAsync(IReadOnlyList<byte[]> requests, double rate, TimeSpan duration, Action<int>? sending = null)
    {
        var total = (int)Math.Min(requests.Count, rate * duration.TotalSeconds);
        var run = new Run(total);
        foreach (var connection in _connections)
        {
            // Kestrel closes a connection left idle (between runs the inbox drains): open it again.
            await connection.EnsureOpenAsync();
            connection.Start(run);
        }

        for (var n = 0; n < total; n++)
        {
            var due = TimeSpan.FromSeconds(n / rate);
            var wait = due - run.Clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            sending?.Invoke(n);
            await Pick().SendAsync(requests[n], due);
        }

        // Whatever is unanswered 10 s after the last request counts as failed (as HttpClient's timeout did).
        await Task.WhenAny(run.AllAnswered, Task.Delay(TimeSpan.FromSeconds(10)));
        var elapsed = run.Clock.Elapsed;
        var latencies = run.Latencies.ToArray();
        Array.Sort(latencies);
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Length) - 1, 0, latencies.Length - 1)];
        return new WrkResult(Connections: 0, total / elapsed.TotalSeconds, Percentile(0.50), Percentile(0.99), total, run.Failures + (total - run.Answered));
    }

    /// <summary>A connection with nothing in flight, round-robin; if every one is busy, the least busy (pipelined).</summary>
    private Connection Pick()
    {
        var start = _next++;
        Connection? least = null;
        for (var i = 0; i < _connections.Length; i++)
        {
            var connection = _connections[(start + i) % _connections.Length];
            if (connection.InFlight == 0)
            {
                return connection;
            }

            if (least is null || connection.InFlight < least.InFlight)
            {
                least = connection;
            }
        }

        return least!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }
    }

    /// <summary>One measured run: when each request was answered, relative to when it was due.</summary>
    private sealed class Run(int total)
    {
        private readonly TaskCompletionSource _allAnswered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _answered;
        private int _failures;

        public Stopwatch Clock { get; } = Stopwatch.StartNew();

        public ConcurrentBag<double> Latencies { get; } = [];

        public int Answered => Volatile.Read(ref _answered);

        public int Failures => Volatile.Read(ref _failures);

        public Task AllAnswered => total == 0 ? Task.CompletedTask : _allAnswered.Task;

        public void Answer(TimeSpan due, bool ok)
        {
            Latencies.Add((Clock.Elapsed - due).TotalMilliseconds);
            if (!ok)
            {
                Interlocked.Increment(ref _failures);
            }

            if (Interlocked.Increment(ref _answered) == total)
            {
                _allAnswered.TrySetResult();
            }
        }
    }

    /// <summary>A kept-alive HTTP/1.1 connection: requests written in order, responses read back in the same order.</summary>
    private sealed class Connection(Uri url) : IAsyncDisposable
    {
        private readonly ConcurrentQueue<TimeSpan> _inFlight = new();
        private readonly CancellationTokenSource _stop = new();
        private Socket? _socket;
        private Run? _run;
        private Task? _receiving;

        public int InFlight => _inFlight.Count;

        public async Task EnsureOpenAsync()
        {
            if (_receiving is { IsCompleted: false })
            {
                return;
            }

            _socket?.Dispose();
            _socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await _socket.ConnectAsync(url.Host, url.Port);
            _receiving = ReceiveAsync(_socket);
        }

        public void Start(Run run) => _run = run;

        public async ValueTask SendAsync(byte[] request, TimeSpan due)
        {
            _inFlight.Enqueue(due);
            try
            {
                await _socket!.SendAsync(request, SocketFlags.None);
            }
            catch (SocketException)
            {
                // Answered as failed by the receiver when the connection closes.
            }
        }

        private async Task ReceiveAsync(Socket socket)
        {
            var buffer = new byte[64 * 1024];
            int start = 0, end = 0;
            try
            {
                while (true)
                {
                    if (end == buffer.Length)
                    {
                        if (start == 0)
                        {
                            Array.Resize(ref buffer, buffer.Length * 2);
                        }
                        else
                        {
                            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
                            (start, end) = (0, end - start);
                        }
                    }

                    var read = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    end += read;
                    while (Response.TryRead(buffer.AsSpan(start, end - start), out var length, out var ok))
                    {
                        start += length;
                        if (_inFlight.TryDequeue(out var due))
                        {
                            _run!.Answer(due, ok);
                        }
                    }

                    if (start == end)
                    {
                        (start, end) = (0, 0);
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }

            // Closed: whatever was in flight is answered as failed.
            while (_inFlight.TryDequeue(out var due))
            {
                _run?.Answer(due, ok: false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _socket?.Dispose();
            if (_receiving is not null)
            {
                await _receiving;
            }

            _stop.Dispose();
        }
    }

    /// <summary>Finds where one HTTP/1.1 response ends (Content-Length or chunked body) and whether it was a 2xx.</summary>
    internal static class Response
    {
        private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

        private static ReadOnlySpan<byte> LineEnd => "\r\n"u8;

        public static bool TryRead(ReadOnlySpan<byte> data, out int length, out bool ok)
        {
            (length, ok) = (0, false);
            var headerEnd = data.IndexOf(HeaderEnd);
            if (headerEnd < 0)
            {
                return false;
            }

            var head = Encoding.ASCII.GetString(data[..headerEnd]);
            ok = head.Length >= 12 && head[9] == '2';
            var bodyStart = headerEnd + HeaderEnd.Length;
            int? contentLength = null;
            var chunked = false;
            foreach (var line in head.Split("\r\n"))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0)
                {
                    continue;
                }

                var (name, value) = (line[..colon].Trim(), line[(colon + 1)..].Trim());
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    contentLength = int.Parse(value, CultureInfo.InvariantCulture);
                }
                else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    chunked = true;
                }
            }

            if (!chunked)
            {
                var size = contentLength ?? 0;
                length = bodyStart + size;
                return data.Length >= length;
            }

            // Chunks: a hexadecimal size line, that many bytes and CRLF; a zero size ends the body (no trailers here).
            var at = bodyStart;
            while (true)
            {
                var lineEnd = data[at..].IndexOf(LineEnd);
                if (lineEnd < 0)
                {
                    return false;
                }

                var sizeText = Encoding.ASCII.GetString(data.Slice(at, lineEnd)).Split(';')[0];
                var chunk = int.Parse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                at += lineEnd + LineEnd.Length;
                if (chunk == 0)
                {
                    length = at + LineEnd.Length;
                    return data.Length >= length;
                }

                at += chunk + LineEnd.Length;
                if (data.Length < at)
                {
                    return false;
                }
            }
        }
    }
}
