// A Kestrel server that restarts itself without dropping a request: on SIGHUP, or on POST /admin/restart, it starts a
// new copy of itself with its listening sockets (HotRestart.StartSuccessorAsync), waits until that copy serves on them
// (HotRestart.SignalReady, once Kestrel listens), then stops accepting, finishes the requests in flight and exits.
//   HOTRESTART_PORT=8080 dotnet run --project samples/HotRestart
//   curl localhost:8080/      -> the pid that served the request
//   kill -HUP <pid>  or  curl -X POST localhost:8080/admin/restart
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using HotRestartSample;
using NoInherit.Native;

// The sockets: the predecessor's (or systemd's, or systemd-socket-activate's), else made here on a first start.
IReadOnlyList<ListenSocket> listeners = SocketActivation.TakeListeners();
if (listeners.Count == 0)
{
    int port = int.Parse(Environment.GetEnvironmentVariable("HOTRESTART_PORT") ?? "8080", System.Globalization.CultureInfo.InvariantCulture);
    Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
    socket.Listen(4096);
    listeners = [new ListenSocket(socket, "http")];
}

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
// The deadline for the requests in flight when this process hands over.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // Kestrel wraps the descriptor in a Socket of its own and closes it when it stops accepting. Ours stay referenced
    // (by the Restarter) for the life of the process, so that no finalizer closes the number a second time.
    foreach (ListenSocket listener in listeners)
        kestrel.ListenHandle((ulong)listener.Socket.Handle);
});
WebApplication app = builder.Build();
var restarter = new Restarter(app.Lifetime, listeners, args);

app.MapGet("/", () => $"{Environment.ProcessId}\n");
app.MapGet("/slow", async () =>
{
    await Task.Delay(300); // a request that is in flight when a restart happens
    return $"{Environment.ProcessId}\n";
});
app.MapPost("/admin/restart", () => restarter.Request() ? Results.Accepted() : Results.Conflict("a restart is under way"));
// What a child of this server would inherit (Inheritance.Audit): nothing, the listening sockets included.
app.MapGet("/admin/audit", () => string.Join("\n", Inheritance.Audit().Select(h => $"{h.Handle} {h.Kind} {h.Target}")) + "\n");

using PosixSignalRegistration sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
{
    context.Cancel = true; // a restart, not the end
    restarter.Request();
});
app.Lifetime.ApplicationStarted.Register(() => HotRestart.SignalReady());
app.Run();
