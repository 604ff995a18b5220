using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.Versioning;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Where ChildProcess claims to behave like Process.Start, the same program started through both must see the same
/// (argv incl. argv[0], the program found, exit status, exception type and message). Each test starts it both ways and
/// compares. Those that change the current directory or PATH, or saturate the thread pool, run alone.
/// </summary>
[Collection(nameof(ProcessWideState))]
public class ChildProcessFidelityTests
{
    private static bool Windows => OperatingSystem.IsWindows();

    private static void Linux(string why) => Assert.SkipUnless(OperatingSystem.IsLinux(), why);

    /// <summary>What a child wrote to its standard output, or the exception that starting it threw (type, code, message).</summary>
    private static string Run(Func<ProcessStartInfo, (string Output, int Code)> start, ProcessStartInfo startInfo)
    {
        try
        {
            (string output, int code) = start(startInfo);
            return $"exit {code}: {output}";
        }
        catch (Exception e)
        {
            return Outcome.Describe(e) + (e is Win32Exception w ? $" [NativeErrorCode={w.NativeErrorCode}]" : "");
        }
    }

    private static (string, int) ViaProcess(ProcessStartInfo startInfo)
    {
        using Process p = Process.Start(startInfo)!;
        string output = startInfo.RedirectStandardOutput ? p.StandardOutput.ReadToEnd() : "";
        p.WaitForExit();
        return (output, p.ExitCode);
    }

    private static (string, int) ViaChildProcess(ProcessStartInfo startInfo)
    {
        using ChildProcess c = ChildProcess.Start(startInfo);
        string output = startInfo.RedirectStandardOutput ? c.StandardOutput.ReadToEnd() : "";
        c.WaitForExit();
        return (output, c.ExitCode);
    }

    /// <summary>Starts <paramref name="startInfo"/> both ways and asserts the outcomes are the same; returns it.</summary>
    private static string Same(ProcessStartInfo startInfo)
    {
        string bcl = Run(ViaProcess, startInfo), ours = Run(ViaChildProcess, startInfo);
        Outcome.AssertSame(bcl, ours);
        return ours;
    }

    private static ProcessStartInfo Redirected(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true };
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        return start;
    }

    // A shell command that prints the child's argv[0] (from the kernel's record of argv) and $0.
    private const string PrintArgv0 = "printf 'argv0=%s $0=%s' \"$(tr '\\000' '\\n' < /proc/$$/cmdline | head -n 1)\" \"$0\"";

    [Fact]
    public void Argv0_IsFileNameAsGiven_AsProcessStartPassesIt()
    {
        Linux("argv[0] as given is a Unix matter (Windows' CreateProcessW takes the command line as built from FileName in both)");
        Assert.Equal("exit 0: argv0=sh $0=sh", Same(Redirected("sh", "-c", PrintArgv0)));
        Assert.Equal("exit 0: argv0=/bin/sh $0=/bin/sh", Same(Redirected("/bin/sh", "-c", PrintArgv0)));
        // A program's own view of its name: python3's sys.argv[0] is the script, but the interpreter's argv[0] is what ps shows.
        if (File.Exists("/usr/bin/python3"))
            Same(Redirected("python3", "-c", "print(open('/proc/self/cmdline').read().split(chr(0))[0])"));
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void FileNameWithADirectoryPart_IsSearchedAsProcessStartSearchesIt_AndKeptAsGiven()
    {
        Linux("the search is ProgramPath's, on Unix; Windows leaves it to CreateProcessW in both");
        using var dir = new TempDirectory();
        string here = dir.Combine("here"), onPath = dir.Combine("onpath");
        Directory.CreateDirectory(Path.Combine(here, "sub"));
        Directory.CreateDirectory(Path.Combine(onPath, "sub"));
        Directory.CreateDirectory(Path.Combine(here, "ni-a-directory"));
        File.CreateSymbolicLink(Path.Combine(here, "sub", "sh"), "/bin/sh");
        WriteScript(Path.Combine(here, "x"), "echo \"here $0\"");
        WriteScript(Path.Combine(onPath, "sub", "y"), "echo \"onpath $0\"");
        using (ProcessWideState.Set(currentDirectory: here, path: onPath + ":/usr/bin:/bin"))
        {
            // Found in the current directory, the path kept as given ("here/./x", which a script sees as $0).
            Assert.Equal($"exit 0: here {here}/./x\n", Same(Redirected("./x")));
            // argv[0] of a binary found that way: "sub/sh", as given.
            Assert.Equal("exit 0: argv0=sub/sh $0=sub/sh", Same(Redirected("sub/sh", "-c", PrintArgv0)));
            // Not in the current directory: looked for on PATH like a bare name.
            Assert.Equal($"exit 0: onpath {onPath}/sub/y\n", Same(Redirected("sub/y")));
            // A directory given with a directory part is not a program: not found (ENOENT), as Process.Start says.
            Assert.StartsWith("threw System.ComponentModel.Win32Exception: An error occurred trying to start process './ni-a-directory'", Same(Redirected("./ni-a-directory")));
        }
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void BareName_IsLookedForBesideTheExecutableFirst()
    {
        Linux("the search is ProgramPath's, on Unix");
        string exeDirectory = Path.GetDirectoryName(Environment.ProcessPath)!;
        string name = "ni-beside-exe-" + Guid.NewGuid().ToString("N")[..8];
        string beside = Path.Combine(exeDirectory, name);
        try
        {
            WriteScript(beside, "echo beside");
        }
        catch (UnauthorizedAccessException)
        {
            Assert.Skip($"cannot write beside the executable ({exeDirectory})");
        }
        using var dir = new TempDirectory();
        WriteScript(dir.Combine(name), "echo current");
        try
        {
            using (ProcessWideState.Set(currentDirectory: dir.FullPath))
                Assert.Equal("exit 0: beside\n", Same(Redirected(name)));
        }
        finally
        {
            File.Delete(beside);
        }
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void PathSearch_AsRoot_TakesAnyExecuteBit_AndSkipsFilesWithNone()
    {
        Linux("execute permission classes are Unix's");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "the root case needs root");
        using var dir = new TempDirectory();
        (string first, string second) = TwoPathEntries(dir, "prog");
        using (ProcessWideState.Set(path: $"{first}:{second}"))
        {
            File.SetUnixFileMode(Path.Combine(first, "prog"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Assert.Equal("exit 0: first\n", Same(Redirected("prog"))); // root may run it: the first entry's
            File.SetUnixFileMode(Path.Combine(first, "prog"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Equal("exit 0: second\n", Same(Redirected("prog"))); // nobody may: the next entry's
        }
    }

    /// <summary>
    /// As an unprivileged user (a child of the test run as nobody, by setpriv), the first PATH entry's program is root's
    /// with mode 0700: Process.Start goes on to the next entry, and so must ChildProcess (which once took any execute bit
    /// and failed with EACCES).
    /// </summary>
    [Fact]
    [SupportedOSPlatform("linux")]
    public async Task PathSearch_AsAnUnprivilegedUser_ChecksTheBitOfItsClass_AndMovesOn()
    {
        Linux("execute permission classes are Unix's");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "only root can start a child as another user");
        Assert.SkipUnless(File.Exists("/usr/bin/setpriv"), "setpriv (util-linux) is needed to start a child as nobody");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the child is the test program itself, which qemu-user cannot exec");
        using var dir = new TempDirectory();
        (string first, string second) = TwoPathEntries(dir, "prog");
        File.SetUnixFileMode(Path.Combine(first, "prog"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ProcessStartInfo self = Self.WithRole("start-both");
        var start = new ProcessStartInfo("/usr/bin/setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "--", self.FileName }.Concat(self.ArgumentList))
            start.ArgumentList.Add(a);
        start.Environment["NI_CHILD_ROLE"] = "start-both";
        start.Environment["NI_TEST_PROGRAM"] = "prog";
        start.Environment["PATH"] = $"{first}:{second}:/usr/bin:/bin";
        start.Environment["HOME"] = dir.FullPath;
        using ChildProcess child = ChildProcess.Start(start);
        Task<string> error = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(120_000));
        Assert.True(output == "Process: second|ChildProcess: second", $"as nobody: {output} (stderr: {await error})");
    }

    [SupportedOSPlatform("linux")]
    private static (string First, string Second) TwoPathEntries(TempDirectory dir, string name)
    {
        string first = dir.Combine("first"), second = dir.Combine("second");
        Directory.CreateDirectory(first);
        Directory.CreateDirectory(second);
        WriteScript(Path.Combine(first, name), "echo first");
        WriteScript(Path.Combine(second, name), "echo second");
        return (first, second);
    }

    [SupportedOSPlatform("linux")]
    private static void WriteScript(string path, string body)
    {
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0x1ED); // 0755
    }

    /// <summary>
    /// A file in the current directory that cannot be executed: taken (EACCES) before .NET 11; passed over on .NET 11, whose
    /// Process.Start then finds the name on PATH. ChildProcess does what the running runtime's Process.Start does.
    /// </summary>
    [Fact]
    [SupportedOSPlatform("linux")]
    public void NotExecutableInTheCurrentDirectory_AsTheRunningRuntimesProcessStart()
    {
        Linux("the search is ProgramPath's, on Unix");
        using var dir = new TempDirectory();
        string here = dir.Combine("here"), onPath = dir.Combine("onpath");
        Directory.CreateDirectory(here);
        Directory.CreateDirectory(onPath);
        File.WriteAllText(Path.Combine(here, "prog"), "#!/bin/sh\necho here\n");
        WriteScript(Path.Combine(onPath, "prog"), "echo onpath");
        using (ProcessWideState.Set(currentDirectory: here, path: onPath + ":/usr/bin:/bin"))
        {
            string outcome = Same(Redirected("prog"));
            if (Environment.Version.Major >= 11)
                Assert.Equal("exit 0: onpath\n", outcome);
            else
                Assert.Contains("Permission denied", outcome);
        }
    }

    [Fact]
    [SupportedOSPlatform("linux")]
    public void StartFailures_NameTheProgramFound_WithProcessStartsMessage()
    {
        Linux("the program found is ProgramPath's, on Unix (Windows' messages name FileName in both)");
        using var dir = new TempDirectory();
        File.WriteAllText(dir.Combine("noexec"), "#!/bin/sh\n"); // found in the current directory, but not executable: EACCES
        File.WriteAllBytes(dir.Combine("garbage"), new byte[] { 1, 2, 3, 4 }); // executable, but no program: ENOEXEC
        File.SetUnixFileMode(dir.Combine("garbage"), (UnixFileMode)0x1ED);
        using (ProcessWideState.Set(currentDirectory: dir.FullPath, path: dir.FullPath + ":/usr/bin:/bin"))
        {
            // .NET 11 takes only an executable file from the current directory too: not found there.
            Assert.Contains(Environment.Version.Major >= 11 ? "'./noexec'" : $"'{dir.FullPath}/./noexec'", Same(new ProcessStartInfo("./noexec")));
            Assert.Contains($"'{dir.FullPath}/garbage'", Same(new ProcessStartInfo("garbage")));
            Assert.Contains("'no-such-program-anywhere'", Same(new ProcessStartInfo("no-such-program-anywhere")));
        }
    }

    [Fact]
    public void ArgumentsAndArgumentList_IsRefusedWithTheBclsMessage()
    {
        var start = new ProcessStartInfo(Windows ? "cmd.exe" : "/bin/true", "x");
        start.ArgumentList.Add("y");
        Outcome.AssertSame(Outcome.Of(() => Process.Start(start)), Outcome.Of(() => ChildProcess.Start(start)));
        Outcome.AssertSame(Outcome.Of(() => Process.Start(new ProcessStartInfo())), Outcome.Of(() => ChildProcess.Start(new ProcessStartInfo())));
    }

    /// <summary>
    /// HasExited and ExitCode ask the child when its exit has not been noticed yet, as Process's do: with every thread-pool
    /// thread blocked (the exit notification waits for one), a child that exited a moment ago reads as exited at once.
    /// </summary>
    [Fact]
    public void HasExitedAndExitCode_AskTheChild_WhileTheThreadPoolIsSaturated()
    {
        ProcessStartInfo exits = Windows ? new ProcessStartInfo("cmd.exe", "/d /c exit 3") : new ProcessStartInfo("/bin/sh", "-c \"exit 3\"");
        var release = new ManualResetEventSlim(); // not disposed: a blocker that starts late must still find it
        ThreadPool.GetMaxThreads(out int workers, out _);
        int blockers = Environment.ProcessorCount * 4 + 64;
        for (int i = 0; i < blockers; i++)
            ThreadPool.UnsafeQueueUserWorkItem(static r => ((ManualResetEventSlim)r!).Wait(), release);
        try
        {
            Thread.Sleep(200); // the pool's threads are all blocked now
            using ChildProcess ours = ChildProcess.Start(exits);
            using Process theirs = Process.Start(exits)!;
            var clock = Stopwatch.StartNew();
            // The children are gone within this time: a process that exits at once, looked at from /proc on Linux.
            while (clock.ElapsedMilliseconds < 3000 && !(IsZombieOrGone(ours.Id) && IsZombieOrGone(theirs.Id)))
                Thread.Sleep(20);
            Assert.True(ours.HasExited, "ChildProcess did not see its child's exit while the thread pool was busy");
            Assert.Equal(3, ours.ExitCode);
            // Process sees it too, though not always at once here: its SIGCHLD processing can lag on a loaded machine.
            clock.Restart();
            while (!theirs.HasExited && clock.ElapsedMilliseconds < 10_000)
                Thread.Sleep(20);
            Assert.Equal(theirs.ExitCode, ours.ExitCode);
        }
        finally
        {
            release.Set();
        }
    }

    private static bool IsZombieOrGone(int pid)
    {
        if (!OperatingSystem.IsLinux())
        {
            Thread.Sleep(1000); // Windows: no /proc; a second is plenty for cmd /c exit
            return true;
        }
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] == 'Z';
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Fact]
    public async Task WaitForExitAsync_WithACancelledToken_ThrowsAsProcessThrows()
    {
        ProcessStartInfo waits = ChildPrograms.SleeperStartInfo();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using ChildProcess ours = ChildProcess.Start(waits);
        using Process theirs = Process.Start(waits)!;
        try
        {
            // Running, token cancelled before the call: OperationCanceledException itself, not TaskCanceledException.
            Exception bcl = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => theirs.WaitForExitAsync(cancelled.Token));
            Exception mine = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ours.WaitForExitAsync(cancelled.Token));
            Assert.Equal(bcl.GetType(), mine.GetType());
            Assert.Equal(cancelled.Token, ((OperationCanceledException)mine).CancellationToken);
            // Running, cancelled during the wait.
            using var later = new CancellationTokenSource(100);
            bcl = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => theirs.WaitForExitAsync(later.Token));
            using var later2 = new CancellationTokenSource(100);
            mine = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ours.WaitForExitAsync(later2.Token));
            Assert.Equal(bcl.GetType(), mine.GetType());
        }
        finally
        {
            ours.Kill();
            theirs.Kill();
        }
        ours.WaitForExit();
        theirs.WaitForExit();
        // Exited: the wait completes, whatever the token says.
        await theirs.WaitForExitAsync(cancelled.Token);
        await ours.WaitForExitAsync(cancelled.Token);
    }

    [Fact]
    public void WaitForExitWithATimeSpan_ChecksItAsProcessDoes()
    {
        ProcessStartInfo exits = Windows ? new ProcessStartInfo("cmd.exe", "/d /c exit 0") : new ProcessStartInfo("/bin/true");
        using ChildProcess ours = ChildProcess.Start(exits);
        using Process theirs = Process.Start(exits)!;
        foreach (TimeSpan timeout in new[] { TimeSpan.FromMilliseconds(-2), TimeSpan.FromDays(30) })
            Outcome.AssertSame(Outcome.Of(() => theirs.WaitForExit(timeout)), Outcome.Of(() => ours.WaitForExit(timeout)));
        Assert.True(ours.WaitForExit(Timeout.InfiniteTimeSpan));
    }

    // ---- The differences that are intended (README, "Where ChildProcess differs from Process.Start on purpose") ----

    /// <summary>
    /// SIGPIPE: Process's children inherit the runtime's "ignored" (so `yes | head -1` run from .NET never ends); ours
    /// start with the default, as a shell's children do, and a SIGPIPE ends them.
    /// </summary>
    [Fact]
    public void IntendedDifference_SigpipeIsAtItsDefaultInTheChild()
    {
        Linux("SIGPIPE is POSIX's");
        ProcessStartInfo start = Redirected("/bin/sh", "-c", "kill -PIPE $$; echo survived");
        Assert.Equal("exit 0: survived\n", Run(ViaProcess, start));
        using ChildProcess child = ChildProcess.Start(start);
        Assert.Equal("", child.StandardOutput.ReadToEnd());
        ChildProcessExitStatus status = child.WaitForExitStatus();
        Assert.Equal(128 + 13, status.ExitCode);
        Assert.Equal((System.Runtime.InteropServices.PosixSignal)13, status.Signal); // SIGPIPE has no portable name: its number
    }

    /// <summary>A NUL in an argument: Process passes the argument cut short at it; ChildProcess refuses it.</summary>
    [Fact]
    public void IntendedDifference_ANulCharacterIsRefused()
    {
        Linux("the child here is /bin/sh");
        ProcessStartInfo start = Redirected("/bin/sh", "-c", "printf '[%s]' \"$1\"", "sh", "cut\0here");
        Assert.Equal("exit 0: [cut]", Run(ViaProcess, start));
        ArgumentException e = Assert.Throws<ArgumentException>(() => ChildProcess.Start(start));
        Assert.Equal("startInfo", e.ParamName);
    }
}
