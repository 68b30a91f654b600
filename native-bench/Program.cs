using NativeBench;

// native-bench: benchmarks of the kernels (and later of whole requests) with a native baseline.
// `kernels` times every op, forward and backward, at the layer shapes of three StyleGAN2 configurations,
// on each backend variant, after validating it against the double-precision reference.
return args switch
{
    ["kernels", .. var rest] => KernelsCommand.Run(rest),
    ["generator", .. var rest] => NativeBench.Generator.GeneratorCommand.Run(rest),
    ["explain", .. var rest] => NativeBench.Explain.ExplainCommand.Run(rest),
    ["gan", .. var rest] => NativeBench.Gan.GanCommand.Run(rest),
    [] or ["-h" or "--help" or "help"] => Usage(0),
    _ => Usage(2, $"Unknown command '{args[0]}'."),
};

static int Usage(int exitCode, string? error = null)
{
    var w = exitCode == 0 ? Console.Out : Console.Error;
    if (error is not null) w.WriteLine(error);
    w.WriteLine("usage: native-bench kernels [options]      (native-bench kernels --help for the options)");
    w.WriteLine("       native-bench generator [options]    (native-bench generator --help for the options)");
    w.WriteLine("       native-bench explain [options]      (native-bench explain --help for the options)");
    w.WriteLine("       native-bench gan [options]          (native-bench gan --help for the options)");
    return exitCode;
}
