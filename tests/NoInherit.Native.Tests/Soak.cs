using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native.Tests;

/// <summary>What a soak run did and what it left behind.</summary>
public sealed class SoakReport
{
    public TimeSpan Duration { get; init; }
    public int Threads { get; init; }
    public IReadOnlyDictionary<string, long> Operations { get; init; } = new Dictionary<string, long>();
    public long ChildrenStarted { get; init; }
    /// <summary>Copies whose destination was read back and compared with the source.</summary>
    public long CopiesVerified { get; init; }
    /// <summary>Copies or transfers whose data came back different (or short).</summary>
    public long DataLost { get; init; }
    /// <summary>Descriptors that a child started mid-run held beyond its standard streams and the one it was given.</summary>
    public long LeakedIntoChildren { get; init; }
    public int DescriptorsStart { get; init; }
    public int DescriptorsEnd { get; init; }
    public long RssStartKiB { get; init; }
    public long RssEndKiB { get; init; }
    /// <summary>Thread-pool threads at the start and the end: under CPU starvation the pool adds threads, each with a
    /// stack and, in glibc, a malloc arena of its own, which stay resident after the run.</summary>
    public int PoolThreadsStart { get; init; }
    public int PoolThreadsEnd { get; init; }
    public long ManagedHeapStart { get; init; }
    public long ManagedHeapEnd { get; init; }
    public IReadOnlyList<string> Failures { get; init; } = [];
    /// <summary>Descriptors open at the end that were not at the start, as "fd -> target" (assemblies' files included,
    /// which the counts leave out).</summary>
    public IReadOnlyList<string> NewDescriptors { get; init; } = [];

    public long TotalOperations => Operations.Values.Sum();

    public override string ToString()
    {
        var text = new StringBuilder();
        text.AppendLine($"soak: {Duration.TotalSeconds:F0} s, {Threads} worker threads + 1 child starter");
        foreach ((string kind, long count) in Operations.OrderBy(p => p.Key, StringComparer.Ordinal))
            text.AppendLine($"  {kind,-8} {count,10}");
        text.AppendLine($"  {"total",-8} {TotalOperations,10}");
        text.AppendLine($"children started: {ChildrenStarted}");
        text.AppendLine($"copies verified: {CopiesVerified}, data lost: {DataLost}");
        text.AppendLine($"descriptors leaked into children: {LeakedIntoChildren}");
        text.AppendLine($"descriptors (not counting the runtime's on assembly files): start {DescriptorsStart}, end {DescriptorsEnd}");
        foreach (string fd in NewDescriptors)
            text.AppendLine("  new: " + fd);
        text.AppendLine($"RSS after GC: start {RssStartKiB} KiB, end {RssEndKiB} KiB");
        text.AppendLine($"thread-pool threads: start {PoolThreadsStart}, end {PoolThreadsEnd}");
        text.AppendLine($"managed heap after GC: start {ManagedHeapStart} B, end {ManagedHeapEnd} B");
        text.AppendLine($"failures: {Failures.Count}");
        foreach (string failure in Failures.Take(20))
            text.AppendLine("  " + failure);
        return text.ToString();
    }
}

/// <summary>
/// The soak (Linux): worker threads doing a random mix of every operation of the library (open, copy, socket
/// create/accept, pipe, dup, spawn) while another thread starts children that list the descriptors they hold,
/// throughout. At the end the descriptor count, RSS and managed heap are compared with the start, after a warm-up
/// and a full GC on both sides. Run by SoakTests for a few seconds and by tests/Soak for minutes.
/// </summary>
public static class Soak
{
    private static readonly string[] Kinds = ["open", "copy", "socket", "pipe", "dup", "spawn"];

    public static SoakReport Run(TimeSpan duration, int threads, string workDirectory, TextWriter? log = null)
    {
        Directory.CreateDirectory(workDirectory);
        var counts = new ConcurrentDictionary<string, long>(Kinds.Select(k => new KeyValuePair<string, long>(k, 0)));
        var failures = new ConcurrentQueue<string>();
        long children = 0, copiesVerified = 0, dataLost = 0, leaked = 0;

        // Written before anything is measured: the first console write sets up the runtime's terminal and signal
        // handling, a pipe that stays open.
        log?.WriteLine($"soak: {duration.TotalSeconds:F0} s, {threads} worker threads; warming up");
        // Warm-up: each operation once, so that what the runtime creates on first use (the socket engine, JIT'd code,
        // the child waiter) is there before the counts start.
        var warm = new Worker(-1, workDirectory, failures);
        for (int round = 0; round < 2; round++)
        {
            foreach (string kind in Kinds)
                warm.Do(kind, ref copiesVerified, ref dataLost);
        }
        ListChildDescriptors(workDirectory, failures, ref leaked);
        warm.Dispose();
        copiesVerified = dataLost = leaked = 0;
        while (failures.TryDequeue(out _)) { }

        // And the same mix from as many threads for a moment, so that what the threads themselves leave resident (their
        // malloc arenas, which glibc keeps and hands to the next threads) is there before the start is measured too.
        // What it finds counts (failures, data lost, leaks into children).
        RunPhase(TimeSpan.FromSeconds(Math.Min(2, duration.TotalSeconds / 5)));

        (int fdStart, long rssStart, long heapStart) = Measure();
        int poolStart = ThreadPool.ThreadCount;
        Dictionary<string, string> targetsStart = Targets();
        log?.WriteLine($"start: {fdStart} descriptors, RSS {rssStart} KiB, heap {heapStart} B");

        RunPhase(duration);

        (int fdEnd, long rssEnd, long heapEnd) = Measure();
        int poolEnd = ThreadPool.ThreadCount;
        string[] newDescriptors = Targets().Where(p => !targetsStart.TryGetValue(p.Key, out string? t) || t != p.Value)
            .Select(p => $"{p.Key} -> {p.Value}").ToArray();
        log?.WriteLine($"end: {fdEnd} descriptors, RSS {rssEnd} KiB, heap {heapEnd} B");
        var spawned = counts["spawn"];
        return new SoakReport
        {
            Duration = duration,
            Threads = threads,
            Operations = new Dictionary<string, long>(counts),
            ChildrenStarted = Interlocked.Read(ref children) + spawned,
            CopiesVerified = copiesVerified,
            DataLost = dataLost,
            LeakedIntoChildren = leaked,
            DescriptorsStart = fdStart,
            DescriptorsEnd = fdEnd,
            RssStartKiB = rssStart,
            RssEndKiB = rssEnd,
            PoolThreadsStart = poolStart,
            PoolThreadsEnd = poolEnd,
            ManagedHeapStart = heapStart,
            ManagedHeapEnd = heapEnd,
            Failures = failures.ToArray(),
            NewDescriptors = newDescriptors,
        };

        void RunPhase(TimeSpan length)
        {
            using var stop = new CancellationTokenSource(length);
            var workers = new List<Thread>();
            for (int t = 0; t < threads; t++)
            {
                int id = t;
                var thread = new Thread(() =>
                {
                    using var worker = new Worker(id, workDirectory, failures);
                    var random = new Random(id * 7919 + 1);
                    long localCopies = 0, localLost = 0;
                    while (!stop.IsCancellationRequested)
                    {
                        string kind = Kinds[random.Next(Kinds.Length)];
                        try
                        {
                            worker.Do(kind, ref localCopies, ref localLost);
                            counts.AddOrUpdate(kind, 1, (_, n) => n + 1);
                        }
                        catch (Exception e)
                        {
                            failures.Enqueue($"{kind} on worker {id}: {e.GetType().Name}: {e.Message}");
                        }
                    }
                    Interlocked.Add(ref copiesVerified, localCopies);
                    Interlocked.Add(ref dataLost, localLost);
                }) { Name = $"soak worker {id}" };
                workers.Add(thread);
                thread.Start();
            }
            // Children starting throughout, each listing what it holds: anything beyond its standard streams is a leak.
            var starter = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        ListChildDescriptors(workDirectory, failures, ref leaked);
                        Interlocked.Increment(ref children);
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue($"child starter: {e.GetType().Name}: {e.Message}");
                    }
                }
            }) { Name = "soak child starter" };
            starter.Start();

            var watch = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(10));
                log?.WriteLine($"{watch.Elapsed.TotalSeconds:F0} s: {counts.Values.Sum()} operations, {Interlocked.Read(ref children)} children, " +
                    $"{failures.Count} failures, {Directory.GetFileSystemEntries("/proc/self/fd").Length} descriptors, RSS {Rss()} KiB (no GC)");
            }
            foreach (Thread thread in workers)
                thread.Join();
            starter.Join();
        }
    }

    private static Dictionary<string, string> Targets()
    {
        var targets = new Dictionary<string, string>();
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget is string target) // null: the listing's own descriptor, closed by now
                    targets[Path.GetFileName(entry)] = target;
            }
            catch (IOException)
            {
            }
        }
        return targets;
    }

    /// <summary>Descriptors open now, RSS and managed heap, after the finalizers have run and a full GC.</summary>
    private static (int Descriptors, long RssKiB, long Heap) Measure()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        long heap = GC.GetTotalMemory(forceFullCollection: true);
        // What is free goes back to the system, from the GC (aggressive: it decommits) and from malloc (glibc keeps
        // freed memory per thread arena): what stays resident after that is what is really in use.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        try
        {
            MallocTrim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // musl has no malloc_trim (and no per-thread arenas to trim)
        }
        // The child waiters and the socket engine settle; the count is taken when two readings agree.
        int descriptors = CountDescriptors();
        for (int i = 0; i < 50; i++)
        {
            Thread.Sleep(100);
            int again = CountDescriptors();
            if (again == descriptors)
                break;
            descriptors = again;
        }
        return (descriptors, Rss(), heap);
    }

    /// <summary>
    /// This process's descriptors, less those on the files of loaded assemblies: the runtime keeps an assembly's file
    /// open, and code compiled mid-run (a tier-1 recompilation that refers to another assembly) loads one whenever it
    /// likes. The library never opens an assembly, so none of these can be its leak.
    /// </summary>
    private static int CountDescriptors()
    {
        var assemblies = AppDomain.CurrentDomain.GetAssemblies().Where(a => !a.IsDynamic)
            .Select(a => a.Location).Where(l => l.Length > 0).ToHashSet(StringComparer.Ordinal);
        return Targets().Values.Count(target => !assemblies.Contains(target));
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    private static long Rss()
    {
        string? rss = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return rss is null ? -1 : long.Parse(rss["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A child that lists its own descriptors (ls opens /proc/self/fd as 3): anything above 3 leaked into it.</summary>
    private static void ListChildDescriptors(string workDirectory, ConcurrentQueue<string> failures, ref long leaked)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, WorkingDirectory = workDirectory };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec ls /proc/self/fd");
        using ChildProcess child = ChildProcess.Start(start);
        string output = child.StandardOutput.ReadToEnd();
        if (!child.WaitForExit(60_000))
        {
            failures.Enqueue("a listing child did not exit");
            child.Kill();
            return;
        }
        int[] fds = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        int extra = fds.Count(fd => fd > 3);
        if (extra > 0)
        {
            Interlocked.Add(ref leaked, extra);
            failures.Enqueue($"a child held descriptors {string.Join(",", fds)}");
        }
    }

    /// <summary>One worker's operations, on its own files and its own listener.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly string _dir;
        private readonly Socket _listener;
        private readonly Random _random;
        private readonly ConcurrentQueue<string> _failures;
        private readonly byte[] _buffer = new byte[2 << 20];
        private int _sequence;
        private bool _flip; // which of two variants an operation takes: alternating, so a warm-up of two rounds meets both

        public Worker(int id, string workDirectory, ConcurrentQueue<string> failures)
        {
            _dir = Path.Combine(workDirectory, $"worker-{id + 1}");
            Directory.CreateDirectory(_dir);
            _random = new Random(id * 31 + 17);
            _failures = failures;
            _listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen();
        }

        public void Do(string kind, ref long copiesVerified, ref long dataLost)
        {
            switch (kind)
            {
                case "open": Open(); break;
                case "copy": Copy(ref copiesVerified, ref dataLost); break;
                case "socket": SocketRoundTrip(ref dataLost); break;
                case "pipe": PipeRoundTrip(ref dataLost); break;
                case "dup": Duplicate(); break;
                default: Spawn(ref dataLost); break;
            }
        }

        private bool Flip() => _flip = !_flip;

        private string NextPath(string name) => Path.Combine(_dir, $"{name}-{_sequence++ % 4}");

        private void Open()
        {
            string path = NextPath("open");
            byte[] data = Encoding.ASCII.GetBytes(path);
            using (SafeFileHandle handle = NoInheritFile.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite))
                RandomAccess.Write(handle, data, 0);
            using FileStream stream = NoInheritFile.Open(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length != data.Length)
                _failures.Enqueue($"open: {path} has {stream.Length} bytes, wrote {data.Length}");
        }

        private void Copy(ref long copiesVerified, ref long dataLost)
        {
            // Mostly small files, now and then up to 2 MiB (several copy_file_range calls are not needed for this size,
            // but the temp file, the rename and the descriptors are the same).
            int length = _random.Next(8) == 0 ? _random.Next(_buffer.Length) : _random.Next(64 << 10);
            _random.NextBytes(_buffer.AsSpan(0, length));
            string source = NextPath("source"), destination = NextPath("copy");
            File.WriteAllBytes(source, _buffer.AsSpan(0, length).ToArray());
            if (Flip())
                NoInheritFile.Copy(source, destination, overwrite: true);
            else
                NoInheritFile.CopyAsync(source, destination, overwrite: true).GetAwaiter().GetResult();
            byte[] copied = File.ReadAllBytes(destination);
            copiesVerified++;
            if (!copied.AsSpan().SequenceEqual(_buffer.AsSpan(0, length)))
            {
                dataLost++;
                _failures.Enqueue($"copy: {destination} differs from {source} ({copied.Length} of {length} bytes)");
            }
        }

        private void SocketRoundTrip(ref long dataLost)
        {
            using Socket client = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(_listener.LocalEndPoint!);
            using Socket server = Flip()
                ? NoInheritSocket.Accept(_listener)
                : NoInheritSocket.AcceptAsync(_listener).AsTask().GetAwaiter().GetResult();
            byte value = (byte)_random.Next(256);
            client.Send([value]);
            byte[] received = new byte[1];
            if (server.Receive(received) != 1 || received[0] != value)
            {
                dataLost++;
                _failures.Enqueue("socket: the byte sent did not arrive");
            }
        }

        private void PipeRoundTrip(ref long dataLost)
        {
            NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
            using (read)
            using (write)
            {
                byte[] data = [1, 2, 3, (byte)_random.Next(256)];
                using (var writer = new FileStream(write, FileAccess.Write, 0))
                    writer.Write(data);
                byte[] back = new byte[4];
                using var reader = new FileStream(read, FileAccess.Read, 0);
                reader.ReadExactly(back);
                if (!back.AsSpan().SequenceEqual(data))
                {
                    dataLost++;
                    _failures.Enqueue("pipe: the bytes written did not arrive");
                }
            }
        }

        private void Duplicate()
        {
            string path = NextPath("dup");
            using SafeFileHandle handle = NoInheritFile.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
            using SafeFileHandle copy = NoInheritFile.Duplicate(handle);
            if (Inheritance.IsInheritable(copy))
                _failures.Enqueue("dup: the duplicate is inheritable");
            Inheritance.SetInheritable(copy, true);
            Inheritance.SetInheritable(copy, false);
        }

        /// <summary>A child given a pipe's write end as descriptor 3 writes through it; its exit code comes back.</summary>
        private void Spawn(ref long dataLost)
        {
            NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
            using (read)
            {
                int code = _random.Next(100);
                var start = new ProcessStartInfo("/bin/sh");
                start.ArgumentList.Add("-c");
                start.ArgumentList.Add($"echo ok >&3; exit {code}");
                using (write)
                using (ChildProcess child = ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [3] = write }))
                {
                    write.Dispose(); // the child holds its copy: the pipe ends when it exits
                    using var reader = new StreamReader(new FileStream(read, FileAccess.Read, 0));
                    string text = reader.ReadToEnd();
                    if (!child.WaitForExit(60_000))
                        _failures.Enqueue("spawn: the child did not exit");
                    else if (child.ExitCode != code || text != "ok\n")
                    {
                        dataLost++;
                        _failures.Enqueue($"spawn: exit {child.ExitCode} (wanted {code}), output '{text}'");
                    }
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
