using System.Diagnostics;
using NoInherit.Native;

namespace HotRestartSample;

/// <summary>One restart at a time: the successor started with our sockets, then, once it serves, our own shutdown
/// (Kestrel stops accepting, finishes the requests in flight within HostOptions.ShutdownTimeout, and the process exits).
/// A successor that fails to start is reported and this process keeps serving.</summary>
internal sealed class Restarter(IHostApplicationLifetime lifetime, IReadOnlyList<ListenSocket> listeners, string[] args)
{
    private int _restarting;

    /// <summary>Starts a restart; false if one is already under way.</summary>
    public bool Request()
    {
        if (Interlocked.Exchange(ref _restarting, 1) == 1)
            return false;
        _ = Task.Run(RestartAsync);
        return true;
    }

    private async Task RestartAsync()
    {
        try
        {
            using ChildProcess successor = await HotRestart.StartSuccessorAsync(ThisProgram(), listeners.ToList(), TimeSpan.FromSeconds(30));
            Console.Error.WriteLine($"[{Environment.ProcessId}] successor {successor.Id} is ready; stopping");
            lifetime.StopApplication();
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"[{Environment.ProcessId}] restart failed, still serving: {e.Message}");
            Volatile.Write(ref _restarting, 0);
        }
    }

    /// <summary>This program again, with its arguments: the apphost, or dotnet and the assembly.</summary>
    private ProcessStartInfo ThisProgram()
    {
        string host = Environment.ProcessPath!;
        var start = new ProcessStartInfo(host);
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            start.ArgumentList.Add(typeof(Restarter).Assembly.Location);
        foreach (string argument in args)
            start.ArgumentList.Add(argument);
        return start;
    }

    // Keeps the listeners referenced for the life of the process (see Program.cs).
    public IReadOnlyList<ListenSocket> Listeners => listeners;
}
