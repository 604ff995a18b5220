using System.Collections.Generic;
using System.Text;

namespace NoInherit.Native;

/// <summary>
/// Unix: a <see cref="System.Diagnostics.ProcessStartInfo.Arguments"/> string as the argv Process.Start makes of it.
/// (Windows passes the string to CreateProcessW as it is: NI_SPAWN_RAW_ARGUMENTS.)
/// </summary>
internal static class CommandLineArguments
{
    /// <summary>Splits <see cref="System.Diagnostics.ProcessStartInfo.Arguments"/> the way Process.Start does on Unix (Windows command-line rules).</summary>
    internal static void Split(string arguments, List<string> results)
    {
        int i = 0;
        while (true)
        {
            while (i < arguments.Length && (arguments[i] == ' ' || arguments[i] == '\t'))
                i++;
            if (i == arguments.Length)
                break;
            var current = new StringBuilder();
            bool inQuotes = false;
            while (i < arguments.Length)
            {
                int backslashes = 0;
                while (i < arguments.Length && arguments[i] == '\\')
                {
                    i++;
                    backslashes++;
                }
                if (backslashes > 0)
                {
                    if (i >= arguments.Length || arguments[i] != '"')
                    {
                        current.Append('\\', backslashes);
                    }
                    else
                    {
                        current.Append('\\', backslashes / 2);
                        if (backslashes % 2 != 0)
                        {
                            current.Append('"');
                            i++;
                        }
                    }
                    continue;
                }
                char c = arguments[i];
                if (c == '"')
                {
                    if (inQuotes && i < arguments.Length - 1 && arguments[i + 1] == '"')
                    {
                        current.Append('"');
                        i++;
                    }
                    else
                    {
                        inQuotes = !inQuotes;
                    }
                    i++;
                    continue;
                }
                if ((c == ' ' || c == '\t') && !inQuotes)
                    break;
                current.Append(c);
                i++;
            }
            results.Add(current.ToString());
        }
    }
}
