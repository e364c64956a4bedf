using System;
using System.Management.Automation;

namespace QmailPS.Commands
{
    /// <summary>
    /// Lets a sender parameter take '&lt;&gt;', the way the views, qmail-qread and SMTP (MAIL FROM:&lt;&gt;)
    /// write the null sender, for '' (what qmail stores). Works on one string or an array; anything
    /// else passes unchanged.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class NullSenderAttribute : ArgumentTransformationAttribute
    {
        /// <summary>How the null sender is typed.</summary>
        public const string Typed = "<>";

        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject p ? p.BaseObject : inputData;
            if (value is string s) return Map(s);
            if (value is string[] sa) // before object[]: a string[] is an object[] too
            {
                var result = new string[sa.Length];
                for (int i = 0; i < sa.Length; i++) result[i] = sa[i] is null ? sa[i] : Map(sa[i]);
                return result;
            }
            if (value is object[] a)
            {
                var result = new object[a.Length];
                for (int i = 0; i < a.Length; i++)
                {
                    object? v = a[i] is PSObject q ? q.BaseObject : a[i];
                    result[i] = v is string t ? Map(t) : a[i];
                }
                return result;
            }
            return inputData;
        }

        internal static string Map(string s) => s.Trim() == Typed ? "" : s;
    }
}
