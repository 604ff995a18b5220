// The load test of samples/HotRestart: a bounded load on loopback (CONCURRENCY clients for SECONDS, half on kept-alive
// connections, half on a new connection per request, one request in ten to /slow, in flight across a restart) while
// the server restarts itself RESTARTS times (SIGHUP and POST /admin/restart in turn). Then the checks, one line each,
// "CHECK pass|fail NAME: detail": no failed request, no refused connection, every restart done (a new pid serving),
// every old server gone, and the listening socket held by the current server alone (every process's /proc/<pid>/fd).
// Exit code 0 when all pass.
// With --control, the negative control: the same load across restarts done the naive way (the server stopped with
// SIGTERM, then a new one started, which makes its own socket): it must see failed requests or refused connections,
// or the load could not tell a restart that drops requests from one that does not.
//   HotRestartLoad <server program> [seconds] [concurrency] [restarts] [--control]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

string server = args[0];
int seconds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
int concurrency = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200;
int restarts = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
bool control = args.Contains("--control");

int port = FreePort();
var start = new ProcessStartInfo(server) { UseShellExecute = false };
start.Environment["HOTRESTART_PORT"] = port.ToString(CultureInfo.InvariantCulture);
using Process first = Process.Start(start)!;
var baseUri = new Uri($"http://127.0.0.1:{port}/");
using var probe = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };
int pid = await WaitForPid(probe, null, TimeSpan.FromSeconds(30));
var pids = new List<int> { pid };
// Whatever happens here, no server is left behind.
AppDomain.CurrentDomain.UnhandledException += (_, _) =>
{
    foreach (int p in pids.Where(p => !IsGone(p)))
        Signal("KILL", p);
};
Console.WriteLine($"server {pid} on port {port}; {concurrency} clients for {seconds} s, {restarts} restarts");

var load = new Load(baseUri, concurrency);
var clock = Stopwatch.StartNew();
Task running = load.RunAsync(TimeSpan.FromSeconds(seconds), clock);
var windows = new List<(double From, double To)>();
for (int i = 0; i < restarts; i++)
{
    double due = (double)seconds * (i + 1) / (restarts + 1); // evenly spread over the run
    await Task.Delay(TimeSpan.FromSeconds(Math.Max(0, due - clock.Elapsed.TotalSeconds)));
    double from = clock.Elapsed.TotalSeconds;
    if (control)
    {
        Signal("TERM", pid);
        GoneWithin(pid, TimeSpan.FromSeconds(15));
        Process.Start(start)!.Dispose();
    }
    else if (i % 2 == 0)
    {
        Signal("HUP", pid);
    }
    else
    {
        (await probe.PostAsync("admin/restart", null)).EnsureSuccessStatusCode();
    }
    pid = await WaitForPid(probe, pid, TimeSpan.FromSeconds(30));
    pids.Add(pid);
    windows.Add((from, clock.Elapsed.TotalSeconds));
    Console.WriteLine($"restart {i + 1} ({(control ? "stop, then start" : i % 2 == 0 ? "SIGHUP" : "POST /admin/restart")}): server {pid} after {windows[^1].To - from:F2} s");
}
await running;

// Requests per second, in the seconds a restart touched against the others.
double[] perSecond = load.PerSecond(seconds);
var during = new List<double>();
var steady = new List<double>();
for (int s = 0; s < seconds; s++)
    (windows.Any(w => w.From < s + 1 && w.To >= s) ? during : steady).Add(perSecond[s]);
Console.WriteLine($"requests: {load.Succeeded} ok, {load.Failed} failed ({load.Refused} refused connections); " +
                  $"{load.Succeeded / (double)seconds:F0}/s overall, steady {Mean(steady):F0}/s, seconds with a restart {Mean(during):F0}/s");
foreach (string error in load.Errors.Take(10))
    Console.WriteLine($"  error: {error}");

if (control)
{
    Signal("TERM", pid);
    bool seen = load.Failed > 0 && GoneWithin(pid, TimeSpan.FromSeconds(15));
    Console.WriteLine($"CHECK {(seen ? "pass" : "fail")} control: stopping, then starting, drops requests: {load.Failed} failed, {load.Refused} refused");
    return seen ? 0 : 1;
}

var checks = new List<(bool Ok, string Name, string Detail)>
{
    (load.Failed == 0, "no failed request", $"{load.Failed} of {load.Succeeded + load.Failed}"),
    (load.Refused == 0, "no refused connection", $"{load.Refused}"),
    (pids.Distinct().Count() == restarts + 1, "every restart done", string.Join(" -> ", pids)),
};
bool gone = pids.Take(pids.Count - 1).All(p => GoneWithin(p, TimeSpan.FromSeconds(15)));
checks.Add((gone, "every old server exited", string.Join(", ", pids.Take(pids.Count - 1).Where(p => !IsGone(p)))));
List<int> holders = ListenerHolders(port);
checks.Add((holders.SequenceEqual([pid]), "the listening socket is held by the current server alone", $"held by {string.Join(", ", holders)}; server {pid}"));
string audit = await probe.GetStringAsync("admin/audit");
bool socketInAudit = audit.Split('\n').Any(line => line.Contains(" Socket ", StringComparison.Ordinal));
checks.Add((!socketInAudit, "the server's audit lists no inheritable socket", audit.Replace('\n', ';')));

Signal("TERM", pid);
checks.Add((GoneWithin(pid, TimeSpan.FromSeconds(15)), "the last server stops on SIGTERM", $"{pid}"));
foreach ((bool ok, string name, string detail) in checks)
    Console.WriteLine($"CHECK {(ok ? "pass" : "fail")} {name}: {detail}");
return checks.All(c => c.Ok) ? 0 : 1;

static void Signal(string name, int pid) => Process.Start("kill", [$"-{name}", pid.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();

static double Mean(List<double> values) => values.Count == 0 ? 0 : values.Average();

static int FreePort()
{
    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)socket.LocalEndPoint!).Port;
}

// The pid serving GET /, once it differs from `old`.
static async Task<int> WaitForPid(HttpClient client, int? old, TimeSpan timeout)
{
    var clock = Stopwatch.StartNew();
    while (true)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "");
            request.Headers.ConnectionClose = true; // a new connection: whichever process accepts it now
            using HttpResponseMessage response = await client.SendAsync(request);
            int pid = int.Parse((await response.Content.ReadAsStringAsync()).Trim(), CultureInfo.InvariantCulture);
            if (pid != old)
                return pid;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException && clock.Elapsed < timeout)
        {
            // Not listening yet (the first server, or the control's new one), or the connection was reset by the old
            // server going away: HttpClient lets a SocketException through when that happens between the connect
            // and its getpeername (ENOTCONN).
        }
        if (clock.Elapsed > timeout)
            throw new TimeoutException($"no new server within {timeout}");
        await Task.Delay(20);
    }
}

static bool IsGone(int pid)
{
    try
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return stat[stat.LastIndexOf(')') + 2] == 'Z'; // exited; its (new) parent has not collected it yet
    }
    catch (IOException)
    {
        return true;
    }
}

static bool GoneWithin(int pid, TimeSpan timeout)
{
    var clock = Stopwatch.StartNew();
    while (!IsGone(pid))
    {
        if (clock.Elapsed > timeout)
            return false;
        Thread.Sleep(50);
    }
    return true;
}

// Every process holding the socket that listens on 127.0.0.1:port: its inode from /proc/net/tcp, then each
// /proc/<pid>/fd/* that links to socket:[inode].
static List<int> ListenerHolders(int port)
{
    string local = $"0100007F:{port:X4}";
    string inode = File.ReadLines("/proc/net/tcp").Skip(1).Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .First(f => f[1] == local && f[3] == "0A")[9];
    var holders = new List<int>();
    foreach (string dir in Directory.EnumerateDirectories("/proc"))
    {
        if (!int.TryParse(Path.GetFileName(dir), out int pid))
            continue;
        try
        {
            if (Directory.EnumerateFileSystemEntries($"{dir}/fd").Any(fd => new FileInfo(fd).LinkTarget == $"socket:[{inode}]"))
                holders.Add(pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // gone meanwhile, or not ours to read
        }
    }
    return holders;
}
