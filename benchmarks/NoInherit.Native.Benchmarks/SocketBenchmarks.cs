using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace NoInherit.Native.Benchmarks;

/// <summary>Socket create + dispose: NoInheritSocket.Create against new Socket.</summary>
[MemoryDiagnoser]
public class SocketCreateBenchmarks
{
    [Benchmark(Baseline = true)]
    public void NewSocket()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    }

    [Benchmark]
    public void NoInheritCreate()
    {
        using Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    }
}

/// <summary>A loopback connect/accept pair: NoInheritSocket.Accept(Async) against Socket.Accept(Async).</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class AcceptBenchmarks
{
    private Socket _listener = null!;
    private IPEndPoint _endpoint = null!;

    [GlobalSetup]
    public void Setup()
    {
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(1024);
        _endpoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    [GlobalCleanup]
    public void Cleanup() => _listener.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("sync")]
    public void SocketAccept()
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(_endpoint);
        using Socket accepted = _listener.Accept();
    }

    [Benchmark, BenchmarkCategory("sync")]
    public void NoInheritAccept()
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(_endpoint);
        using Socket accepted = NoInheritSocket.Accept(_listener);
    }

    [Benchmark(Baseline = true), BenchmarkCategory("async")]
    public async Task SocketAcceptAsync()
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(_endpoint);
        using Socket accepted = await _listener.AcceptAsync();
    }

    [Benchmark, BenchmarkCategory("async")]
    public async Task NoInheritAcceptAsync()
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(_endpoint);
        using Socket accepted = await NoInheritSocket.AcceptAsync(_listener);
    }
}
