using System;
using System.Collections;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>
/// The <see cref="ProcessStartInfo"/> properties newer than the frameworks this library is built for, read by name from
/// the running runtime's type, so that a value set there is honoured or refused, never ignored: .NET 10's
/// CreateNewProcessGroup and UseCredentialsForNetworkingOnly (Windows only; their getters throw elsewhere, where they
/// cannot be set either), .NET 11's InheritedHandles, KillOnParentExit, StartDetached, StartSuspended and
/// StandardInputHandle, StandardOutputHandle, StandardErrorHandle, and any property a later runtime adds, which is
/// refused whenever it is not at its default. Each getter is looked up once and called through a delegate.
/// Trimming and NativeAOT keep the public properties of <see cref="ProcessStartInfo"/> for the lookup
/// (<see cref="DynamicallyAccessedMembersAttribute"/> on the type below).
/// </summary>
internal static class StartInfoProperties
{
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    private static readonly Type s_type = typeof(ProcessStartInfo);

    /// <summary>Every public property .NET 11.0's ProcessStartInfo has: those are known here, by name.</summary>
    internal static readonly HashSet<string> KnownProperties = new(StringComparer.Ordinal)
    {
        "ArgumentList", "Arguments", "CreateNewProcessGroup", "CreateNoWindow", "Domain", "Environment",
        "EnvironmentVariables", "ErrorDialog", "ErrorDialogParentHandle", "FileName", "InheritedHandles",
        "KillOnParentExit", "LoadUserProfile", "Password", "PasswordInClearText", "RedirectStandardError",
        "RedirectStandardInput", "RedirectStandardOutput", "StandardErrorEncoding", "StandardErrorHandle",
        "StandardInputEncoding", "StandardInputHandle", "StandardOutputEncoding", "StandardOutputHandle",
        "StartDetached", "StartSuspended", "UseCredentialsForNetworkingOnly", "UserName", "UseShellExecute", "Verb",
        "Verbs", "WindowStyle", "WorkingDirectory",
    };

    private static readonly Func<ProcessStartInfo, IList<SafeHandle>?>? s_inheritedHandles = Getter<IList<SafeHandle>?>("InheritedHandles");
    private static readonly Func<ProcessStartInfo, SafeHandle?>? s_standardInputHandle = Getter<SafeHandle?>("StandardInputHandle");
    private static readonly Func<ProcessStartInfo, SafeHandle?>? s_standardOutputHandle = Getter<SafeHandle?>("StandardOutputHandle");
    private static readonly Func<ProcessStartInfo, SafeHandle?>? s_standardErrorHandle = Getter<SafeHandle?>("StandardErrorHandle");
    private static readonly Func<ProcessStartInfo, bool>? s_killOnParentExit = Getter<bool>("KillOnParentExit");
    private static readonly Func<ProcessStartInfo, bool>? s_startDetached = Getter<bool>("StartDetached");
    private static readonly Func<ProcessStartInfo, bool>? s_startSuspended = Getter<bool>("StartSuspended");
    private static readonly Func<ProcessStartInfo, bool>? s_createNewProcessGroup = OperatingSystem.IsWindows() ? Getter<bool>("CreateNewProcessGroup") : null;
    private static readonly Func<ProcessStartInfo, bool>? s_useCredentialsForNetworkingOnly = OperatingSystem.IsWindows() ? Getter<bool>("UseCredentialsForNetworkingOnly") : null;

    /// <summary>The properties of a later runtime that this library does not know, with their default values.</summary>
    private static readonly (PropertyInfo Property, object? Default)[] s_unknown = PropertiesNotIn(KnownProperties);

    internal static IList<SafeHandle>? InheritedHandles(ProcessStartInfo startInfo) => s_inheritedHandles?.Invoke(startInfo);

    internal static SafeHandle? StandardInputHandle(ProcessStartInfo startInfo) => s_standardInputHandle?.Invoke(startInfo);

    internal static SafeHandle? StandardOutputHandle(ProcessStartInfo startInfo) => s_standardOutputHandle?.Invoke(startInfo);

    internal static SafeHandle? StandardErrorHandle(ProcessStartInfo startInfo) => s_standardErrorHandle?.Invoke(startInfo);

    internal static bool KillOnParentExit(ProcessStartInfo startInfo) => Read(s_killOnParentExit, startInfo);

    internal static bool StartDetached(ProcessStartInfo startInfo) => Read(s_startDetached, startInfo);

    internal static bool StartSuspended(ProcessStartInfo startInfo) => Read(s_startSuspended, startInfo);

    internal static bool CreateNewProcessGroup(ProcessStartInfo startInfo) => Read(s_createNewProcessGroup, startInfo);

    internal static bool UseCredentialsForNetworkingOnly(ProcessStartInfo startInfo) => Read(s_useCredentialsForNetworkingOnly, startInfo);

    /// <summary>A flag's value; false where the runtime has no such property, or none on this system (its getter throws).</summary>
    private static bool Read(Func<ProcessStartInfo, bool>? getter, ProcessStartInfo startInfo)
    {
        try
        {
            return getter?.Invoke(startInfo) ?? false;
        }
        catch (PlatformNotSupportedException)
        {
            return false; // cannot be set on this system either
        }
    }

    /// <summary>The name of the first property of a later runtime that is set on <paramref name="startInfo"/>, or null.</summary>
    internal static string? FirstUnknownSet(ProcessStartInfo startInfo) => FirstSet(startInfo, s_unknown);

    /// <summary>The name of the first of <paramref name="properties"/> that is not at its default on <paramref name="startInfo"/>, or null.</summary>
    internal static string? FirstSet(ProcessStartInfo startInfo, (PropertyInfo Property, object? Default)[] properties)
    {
        foreach ((PropertyInfo property, object? defaultValue) in properties)
        {
            object? value;
            try
            {
                value = property.GetValue(startInfo);
            }
            catch (TargetInvocationException e) when (e.InnerException is PlatformNotSupportedException)
            {
                continue; // not on this system, so not set either
            }
            if (!IsDefault(value, defaultValue))
                return property.Name;
        }
        return null;
    }

    private static bool IsDefault(object? value, object? defaultValue) =>
        Equals(value, defaultValue) || (value is ICollection { Count: 0 } && defaultValue is null or ICollection { Count: 0 });

    private static Func<ProcessStartInfo, T>? Getter<T>(string name)
    {
        MethodInfo? getter = s_type.GetProperty(name, BindingFlags.Public | BindingFlags.Instance)?.GetMethod;
        if (getter is null || !typeof(T).IsAssignableFrom(getter.ReturnType))
            return null;
        // The delegate's return type may be a base of the property's (SafeHandle for SafeFileHandle): allowed for reference types.
        return getter.CreateDelegate<Func<ProcessStartInfo, T>>();
    }

    /// <summary>The public properties of the running runtime's ProcessStartInfo not named in <paramref name="known"/>, with
    /// their values on a new instance (those whose getter throws PlatformNotSupportedException are left out: they
    /// cannot be set on this system).</summary>
    internal static (PropertyInfo Property, object? Default)[] PropertiesNotIn(IReadOnlySet<string> known)
    {
        PropertyInfo[] unknown = s_type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => !known.Contains(p.Name) && p.GetMethod is not null && p.GetIndexParameters().Length == 0)
            .ToArray();
        if (unknown.Length == 0)
            return [];
        var fresh = new ProcessStartInfo();
        var result = new List<(PropertyInfo, object?)>();
        foreach (PropertyInfo property in unknown)
        {
            try
            {
                result.Add((property, property.GetValue(fresh)));
            }
            catch (TargetInvocationException e) when (e.InnerException is PlatformNotSupportedException)
            {
                // not on this system: it cannot be set here either
            }
        }
        return [.. result];
    }
}
