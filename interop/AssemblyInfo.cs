using System.Runtime.CompilerServices;

// Every binding in this assembly is blittable: no runtime marshalling stubs, so the calls are
// the same under the JIT and NativeAOT, and a non-blittable signature is a compile error.
[assembly: DisableRuntimeMarshalling]
