using System.Runtime.CompilerServices;

// The CPU accelerator emits its kernel launchers into a dynamic assembly of this name; they need
// the internal argument structs of the kernels.
[assembly: InternalsVisibleTo("ILGPURuntime")]
