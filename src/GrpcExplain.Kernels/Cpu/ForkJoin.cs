namespace GrpcExplain.Kernels.Cpu;

/// <summary>
/// The CPU backend's own fork and join: Threads − 1 worker threads that, after each parallel loop,
/// spin a short while for the next before they sleep. A batch-1 generator call runs some sixty small
/// loops back to back (styles, packing, GEMMs, filters), and waking thread-pool workers through
/// Parallel.For cost about 10–25 µs per loop on this 2-core VM; a spinning worker picks the next loop
/// up in well under one. One loop at a time: a loop started while one runs (from another thread,
/// or nested in a loop's body) goes to Parallel.For instead.
/// </summary>
internal sealed class ForkJoin : IDisposable
{
    /// <summary>How long a worker spins for the next loop before it sleeps (Stopwatch ticks).</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs

    private readonly Worker[] _workers;
    private volatile Loop? _current;
    private volatile bool _disposed;
    private int _busy;

    public ForkJoin(int threads)
    {
        _workers = new Worker[threads - 1];
        for (int i = 0; i < _workers.Length; i++) _workers[i] = new Worker(this, i);
    }

    /// <summary>Runs body(0..count) on the caller and the workers; false (nothing run) when a loop is already running.</summary>
    public bool TryRun(int count, Action<int> body)
    {
        if (_disposed || Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        var loop = new Loop(body, count);
        try
        {
            _current = loop;
            Interlocked.MemoryBarrier();
            foreach (var w in _workers) w.Wake();
            loop.Work();
            // The workers finish the items they took.
            var spin = new SpinWait();
            while (Volatile.Read(ref loop.Remaining) > 0) spin.SpinOnce(sleep1Threshold: -1);
        }
        finally
        {
            _current = null;
            Volatile.Write(ref _busy, 0);
        }
        if (loop.Errors is { } errors) throw new AggregateException(errors);
        return true;
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var w in _workers) w.Stop();
    }

    /// <summary>One parallel loop: items are taken by counter, so a worker that arrives late takes none.</summary>
    private sealed class Loop
    {
        private readonly Action<int> _body;
        private readonly int _count;
        private int _next;
        public int Remaining;
        public List<Exception>? Errors;

        public Loop(Action<int> body, int count) => (_body, _count, Remaining) = (body, count, count);

        public void Work()
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count)
            {
                try
                {
                    _body(i);
                }
                catch (Exception e)
                {
                    lock (this) (Errors ??= []).Add(e);
                }
                finally
                {
                    Interlocked.Decrement(ref Remaining);
                }
            }
        }
    }

    /// <summary>A counting semaphore on a monitor (nothing to dispose while a worker may still wait on it).</summary>
    private sealed class Permits
    {
        private int _count;

        public void Release()
        {
            lock (this)
            {
                _count++;
                Monitor.Pulse(this);
            }
        }

        public void Wait()
        {
            lock (this)
            {
                while (_count == 0) Monitor.Wait(this);
                _count--;
            }
        }
    }

    private sealed class Worker
    {
        private readonly ForkJoin _team;
        private readonly Permits _wake = new();
        private int _sleeping;

        public Worker(ForkJoin team, int index)
        {
            _team = team;
            new Thread(Run) { IsBackground = true, Name = $"CpuBackend worker {index + 1}" }.Start();
        }

        /// <summary>Called after a new loop is published: a sleeping worker is released.</summary>
        public void Wake()
        {
            if (Interlocked.Exchange(ref _sleeping, 0) == 1) _wake.Release();
        }

        public void Stop() => _wake.Release();

        private void Run()
        {
            Loop? last = null;
            while (!_team._disposed)
            {
                long until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                Loop? next;
                while ((next = _team._current) is null || next == last)
                {
                    if (_team._disposed) return;
                    if (System.Diagnostics.Stopwatch.GetTimestamp() > until)
                    {
                        // Announce the sleep, then look once more: a loop published in between either
                        // is seen here or its Wake saw the flag and released the semaphore.
                        Volatile.Write(ref _sleeping, 1);
                        Interlocked.MemoryBarrier();
                        next = _team._current;
                        if (next is not null && next != last)
                        {
                            if (Interlocked.Exchange(ref _sleeping, 0) == 0) _wake.Wait(); // consume the release it raced with
                            break;
                        }
                        _wake.Wait();
                        if (_team._disposed) return;
                        until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                        continue;
                    }
                    // Yield, so that on a busy machine the spin gives the core to whoever is ready
                    // (often our own caller); on a quiet one it returns at once.
                    Thread.SpinWait(20);
                    Thread.Yield();
                }
                if (next is null || next == last) continue;
                last = next;
                next.Work();
            }
        }
    }
}
