using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;

/// <summary>
/// The clients: half send every request on a kept-alive connection of a shared pool, half on a new connection
/// (Connection: close); one request in ten goes to /slow. A failure is any exception or a status other than 200; a
/// refused connection is a failure whose cause is ECONNREFUSED. Successes are counted per second.
/// </summary>
internal sealed class Load(Uri baseUri, int concurrency)
{
    private readonly ConcurrentDictionary<int, int> _perSecond = new();
    private long _succeeded, _failed, _refused;

    public long Succeeded => Interlocked.Read(ref _succeeded);
    public long Failed => Interlocked.Read(ref _failed);
    public long Refused => Interlocked.Read(ref _refused);
    public ConcurrentQueue<string> Errors { get; } = new();

    public async Task RunAsync(TimeSpan duration, Stopwatch clock)
    {
        using var keptAlive = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        using var fresh = new HttpClient(new SocketsHttpHandler()) { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
        TimeSpan end = clock.Elapsed + duration;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(client => Task.Run(async () =>
        {
            bool newConnections = client % 2 == 1;
            for (int n = client; clock.Elapsed < end; n++)
                await OneAsync(newConnections ? fresh : keptAlive, newConnections, n % 10 == 0 ? "slow" : "", clock);
        })));
    }

    private async Task OneAsync(HttpClient client, bool newConnection, string path, Stopwatch clock)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.ConnectionClose = newConnection;
            using HttpResponseMessage response = await client.SendAsync(request);
            string body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != System.Net.HttpStatusCode.OK || !int.TryParse(body.Trim(), out _))
                throw new HttpRequestException($"status {(int)response.StatusCode}: {body}");
            Interlocked.Increment(ref _succeeded);
            _perSecond.AddOrUpdate((int)clock.Elapsed.TotalSeconds, 1, (_, count) => count + 1);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            if (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
                Interlocked.Increment(ref _refused);
            if (Errors.Count < 100)
                Errors.Enqueue($"{clock.Elapsed.TotalSeconds:F2}s {(newConnection ? "new" : "kept-alive")} /{path}: {e.GetType().Name}: {e.Message} {e.InnerException?.Message}");
        }
    }

    public double[] PerSecond(int seconds) => Enumerable.Range(0, seconds).Select(s => (double)_perSecond.GetValueOrDefault(s)).ToArray();
}
