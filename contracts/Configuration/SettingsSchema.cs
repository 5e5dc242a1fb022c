using System.Collections;
using System.ComponentModel;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;

namespace Relay.Contracts.Configuration;

/// <summary>
/// The keys a host's options read under its configuration section, found once by reflection over the options types'
/// public settable properties (as the configuration binder sees them; arrays and dictionaries are values). Used by
/// the gateway and core-sim at start-up to report a key no option reads (with the nearest valid name) or a value that
/// does not convert, as one line, before the binder would fail with a stack trace; and by tests to check the
/// documented options tables.
/// </summary>
/// <remarks>Works on configuration's flat key/value pairs (<c>IConfiguration.AsEnumerable()</c>), so contracts needs no configuration package.</remarks>
public sealed class SettingsSchema
{
    private readonly Dictionary<string, Setting> _byKey = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Reads the settings of <paramref name="optionsType"/> bound at <paramref name="section"/>.</summary>
    /// <param name="section">The root section, e.g. "Gateway".</param>
    /// <param name="optionsType">The options class bound there (with a public parameterless constructor).</param>
    /// <param name="subsections">Further options classes bound at a subsection by other code, e.g. "WireGuard".</param>
    [RequiresUnreferencedCode("Reflects over the options types' properties.")]
    public SettingsSchema(string section, Type optionsType, IReadOnlyDictionary<string, Type>? subsections = null)
    {
        Section = section;
        var settings = new List<Setting>();
        Walk(section, optionsType, Activator.CreateInstance(optionsType), settings);
        foreach (var (name, type) in subsections ?? new Dictionary<string, Type>())
        {
            Walk($"{section}:{name}", type, Activator.CreateInstance(type), settings);
        }

        Settings = settings;
        foreach (var setting in settings)
        {
            _byKey.Add(setting.Key, setting);
        }
    }

    /// <summary>The root section, e.g. "Gateway".</summary>
    public string Section { get; }

    /// <summary>Every key an option reads, in declaration order.</summary>
    public IReadOnlyList<Setting> Settings { get; }

    /// <summary>
    /// The first configuration entry under <see cref="Section"/> that no option reads or whose value does not convert
    /// to its property's type, as one line naming the key; null when every entry is fine.
    /// </summary>
    /// <param name="configuration">Flat keys and values, e.g. <c>builder.Configuration.AsEnumerable()</c>.</param>
    public string? Check(IEnumerable<KeyValuePair<string, string?>> configuration) => CheckAll(configuration).FirstOrDefault().Problem;

    /// <summary>
    /// Every configuration entry under <see cref="Section"/> that no option reads or whose value does not convert, with
    /// its key and one line naming it (the operator's <c>relay check</c> prints them all).
    /// </summary>
    /// <param name="configuration">Flat keys and values, e.g. <c>builder.Configuration.AsEnumerable()</c>.</param>
    public IEnumerable<(string Key, string Problem)> CheckAll(IEnumerable<KeyValuePair<string, string?>> configuration)
    {
        string prefix = Section + ":";
        foreach (var (key, value) in configuration.OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (value is null || !key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                continue; // a section that only holds children, or another section
            }

            if (Find(key, out var element) is not { } setting)
            {
                yield return (key, Nearest(key) is { } nearest
                    ? $"unknown setting {key} (did you mean {nearest}?)"
                    : $"unknown setting {key}");
                continue;
            }

            if (element is null && IsCollection(setting.Property.PropertyType))
            {
                yield return (key, $"{key} is a list: set its items as {key}:0, {key}:1, …");
                continue;
            }

            if (!TryConvert(element ?? setting.Property.PropertyType, value))
            {
                yield return (key, $"{key}: '{value}' is not a valid {Describe(element ?? setting.Property.PropertyType)}");
            }
        }
    }

    /// <summary>Whether configuration text converts to <paramref name="type"/> as the binder converts it (invariant culture).</summary>
    public static bool TryConvert(Type type, string value)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(string) || (value.Length == 0 && (Nullable.GetUnderlyingType(type) is not null || !target.IsValueType)))
        {
            return true;
        }

        try
        {
            _ = TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or NotSupportedException or OverflowException)
        {
            return false;
        }
    }

    /// <summary>Converts configuration text to <paramref name="type"/> (see <see cref="TryConvert"/>).</summary>
    public static object? Convert(Type type, string value)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        if (target == typeof(string))
        {
            return value;
        }

        return value.Length == 0 && (Nullable.GetUnderlyingType(type) is not null || !target.IsValueType)
            ? null
            : TypeDescriptor.GetConverter(target).ConvertFromInvariantString(value);
    }

    /// <summary>Levenshtein distance, case-insensitive.</summary>
    public static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitute = previous[j - 1] + (char.ToUpperInvariant(a[i - 1]) == char.ToUpperInvariant(b[j - 1]) ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    // A key names a setting itself, or an element of a collection setting (Endpoints:0, Map:name).
    // element is the type of that element when the element is a plain value, else null.
    private Setting? Find(string key, out Type? element)
    {
        element = null;
        if (_byKey.TryGetValue(key, out var exact))
        {
            return exact;
        }

        for (int colon = key.LastIndexOf(':'); colon > Section.Length; colon = key.LastIndexOf(':', colon - 1))
        {
            if (_byKey.TryGetValue(key[..colon], out var owner) && ElementType(owner.Property.PropertyType) is { } itemType)
            {
                bool direct = key.IndexOf(':', colon + 1) < 0;
                element = direct && IsValue(itemType) ? itemType : typeof(string);
                return owner;
            }
        }

        return null;
    }

    private string? Nearest(string key)
    {
        var best = Settings
            .Select(s => (s.Key, Distance: EditDistance(key, s.Key)))
            .OrderBy(s => s.Distance)
            .FirstOrDefault();
        int tolerance = Math.Max(2, key[(key.LastIndexOf(':') + 1)..].Length / 3);
        return best.Key is not null && best.Distance <= tolerance ? best.Key : null;
    }

    [RequiresUnreferencedCode("Reflects over the options types' properties.")]
    private static void Walk(string prefix, Type type, object? instance, List<Setting> settings)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            object? value = instance is null ? null : property.GetValue(instance);
            string key = $"{prefix}:{property.Name}";
            bool settable = property.SetMethod is { IsPublic: true };
            if (IsValue(property.PropertyType) || IsCollection(property.PropertyType))
            {
                if (settable)
                {
                    settings.Add(new Setting(key, property, value));
                }
            }
            else
            {
                Walk(key, property.PropertyType, value, settings); // a nested options object (Gateway:Health)
            }
        }
    }

    private static bool IsValue(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target.IsPrimitive || target.IsEnum || target == typeof(string) || target == typeof(decimal)
            || (target != typeof(object) && !IsCollection(target) && TypeDescriptor.GetConverter(target).CanConvertFrom(typeof(string)));
    }

    private static bool IsCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);

    private static Type? ElementType(Type type)
    {
        if (!IsCollection(type))
        {
            return null;
        }

        if (type.IsArray)
        {
            return type.GetElementType();
        }

        var generic = type.GetInterfaces().Append(type)
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))
            ?? type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return generic?.GetGenericArguments()[^1] ?? typeof(string);
    }

    private static string Describe(Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        return target.IsEnum
            ? $"{target.Name} ({string.Join(", ", Enum.GetNames(target))})"
            : target == typeof(TimeSpan) ? "TimeSpan (e.g. 00:00:30)" : target.Name;
    }
}
