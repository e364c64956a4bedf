using System;
using System.Globalization;
using System.Management.Automation;

namespace QmailPS.Commands
{
    /// <summary>
    /// Lets an age parameter take the short forms postmasters type ('3d', '12h', '90m', '30s', and
    /// sums such as '1d12h') besides a TimeSpan or its own string form ('2.00:00:00'). Anything else
    /// is passed on unchanged, so PowerShell's own conversion reports it.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    public sealed class AgeTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            object value = inputData is PSObject p ? p.BaseObject : inputData;
            return value is string s && TryParseShort(s, out TimeSpan age) ? age : inputData;
        }

        /// <summary>One or more of &lt;digits&gt;&lt;unit&gt; with unit d, h, m or s (any case), nothing else.</summary>
        internal static bool TryParseShort(string text, out TimeSpan age)
        {
            age = TimeSpan.Zero;
            string s = text.Trim();
            if (s.Length == 0) return false;
            int i = 0;
            while (i < s.Length)
            {
                int start = i;
                while (i < s.Length && s[i] >= '0' && s[i] <= '9') i++;
                if (i == start || i == s.Length) return false;
                if (!long.TryParse(s.Substring(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return false;
                double seconds;
                switch (char.ToLowerInvariant(s[i]))
                {
                    case 'd': seconds = n * 86400.0; break;
                    case 'h': seconds = n * 3600.0; break;
                    case 'm': seconds = n * 60.0; break;
                    case 's': seconds = n; break;
                    default: return false;
                }
                i++;
                if (seconds > TimeSpan.MaxValue.TotalSeconds - age.TotalSeconds) return false;
                age += TimeSpan.FromSeconds(seconds);
            }
            return true;
        }
    }
}
