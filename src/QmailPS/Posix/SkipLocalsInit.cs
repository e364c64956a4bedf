namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// netstandard2.0 lacks this attribute; the compiler honours it by name. Used where a 256-byte
    /// statx buffer the kernel fills would otherwise be zeroed on every call of the scan's hot path.
    /// </summary>
    [AttributeUsage(AttributeTargets.Method | AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
    internal sealed class SkipLocalsInitAttribute : Attribute { }
}
