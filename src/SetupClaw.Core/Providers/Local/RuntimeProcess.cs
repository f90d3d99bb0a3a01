using System.Diagnostics;

namespace SetupClaw.Providers.Local;

/// <summary>One running runtime: its process, its output (to a log file, and the last lines kept for failure reasons).</summary>
internal sealed class RuntimeProcess
{
    private const int TailLines = 20;
    private readonly Queue<string> tail = new();
    private readonly StreamWriter log;

    public RuntimeProcess(Process process, string deploymentId, int port, string logPath)
    {
        Process = process;
        DeploymentId = deploymentId;
        Port = port;
        log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string DeploymentId { get; }

    public int Port { get; }

    public string Tail()
    {
        lock (tail)
        {
            return string.Join(" | ", tail);
        }
    }

    public async Task StopAsync()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        finally
        {
            Process.Dispose();
            lock (tail)
            {
                log.Dispose();
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (tail)
        {
            tail.Enqueue(line);
            if (tail.Count > TailLines)
            {
                tail.Dequeue();
            }

            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output that arrives while the process is being stopped.
            }
        }
    }
}
