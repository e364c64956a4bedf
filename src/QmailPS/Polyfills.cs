// netstandard2.0 lacks the type C# needs for init-only setters.
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
