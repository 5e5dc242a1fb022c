using System.Reflection;

namespace Relay.Testing.Architecture;

/// <summary>
/// Which namespaces of an assembly use which, read by reflection from what its types declare: base types,
/// interfaces, fields (with the closures and state machines the compiler makes from method bodies), properties,
/// events, and the parameters and return types of constructors and methods, generic arguments included. A type
/// used only inside a method body's locals is not seen.
/// </summary>
public sealed class NamespaceGraph
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    private readonly Dictionary<string, SortedSet<string>> _edges = new(StringComparer.Ordinal);
    private readonly string _root;

    /// <summary>The namespaces below <paramref name="root"/> (it included) in <paramref name="assembly"/> and the ones each uses.</summary>
    public NamespaceGraph(Assembly assembly, string root)
    {
        _root = root;
        foreach (var type in assembly.GetTypes())
        {
            string? from = NamespaceOf(type);
            if (from is null || !Within(from, root))
            {
                continue;
            }

            foreach (var used in Referenced(type).SelectMany(Flatten))
            {
                if (NamespaceOf(used) is { } to && to != from && Within(to, root) && used.Assembly == assembly)
                {
                    Uses(from).Add(to);
                }
            }
        }
    }

    /// <summary>Each namespace and the namespaces it uses.</summary>
    public IReadOnlyDictionary<string, SortedSet<string>> Edges => _edges;

    /// <summary>
    /// What keeps the graph from being one-way, one line each: every cycle, and every namespace that uses the root
    /// one (the host, which uses the folders). Empty when there is nothing.
    /// </summary>
    public IReadOnlyList<string> Problems() =>
    [
        .. Cycles().Select(c => "cycle: " + c),
        .. _edges.Where(e => e.Value.Contains(_root)).Select(e => $"{e.Key} uses the root namespace {_root}"),
    ];

    /// <summary>Every cycle as "A → B → A" (one per group of namespaces that reach each other); empty when the graph is one-way.</summary>
    public IReadOnlyList<string> Cycles()
    {
        var cycles = new List<string>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (string start in _edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!reported.Contains(start) && PathBack(start) is { } path)
            {
                reported.UnionWith(path);
                cycles.Add(string.Join(" → ", path.Append(start)));
            }
        }

        return cycles;
    }

    private static bool Within(string ns, string root) => ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal);

    /// <summary>The namespace a type is written in (a nested type's, closures' and state machines' included); null for the global one.</summary>
    private static string? NamespaceOf(Type type) => type.Namespace;

    private static IEnumerable<Type> Referenced(Type type)
    {
        if (type.BaseType is { } baseType)
        {
            yield return baseType;
        }

        foreach (var item in type.GetInterfaces())
        {
            yield return item;
        }

        foreach (var field in type.GetFields(Declared))
        {
            yield return field.FieldType;
        }

        foreach (var property in type.GetProperties(Declared))
        {
            yield return property.PropertyType;
        }

        foreach (var e in type.GetEvents(Declared))
        {
            if (e.EventHandlerType is { } handler)
            {
                yield return handler;
            }
        }

        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method is MethodInfo m)
            {
                yield return m.ReturnType;
            }

            foreach (var parameter in method.GetParameters())
            {
                yield return parameter.ParameterType;
            }
        }
    }

    private static IEnumerable<Type> Flatten(Type type)
    {
        if (type.HasElementType && type.GetElementType() is { } element)
        {
            foreach (var inner in Flatten(element))
            {
                yield return inner;
            }

            yield break;
        }

        if (type.IsGenericParameter)
        {
            yield break;
        }

        yield return type;
        if (type.IsGenericType)
        {
            foreach (var inner in type.GetGenericArguments().SelectMany(Flatten))
            {
                yield return inner;
            }
        }
    }

    private SortedSet<string> Uses(string ns)
    {
        if (!_edges.TryGetValue(ns, out var set))
        {
            _edges[ns] = set = new SortedSet<string>(StringComparer.Ordinal);
        }

        return set;
    }

    /// <summary>A path start → … → X where X uses start; null when no namespace start reaches uses it back.</summary>
    private List<string>? PathBack(string start)
    {
        var previous = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out string? current))
        {
            foreach (string next in _edges.GetValueOrDefault(current) ?? [])
            {
                if (next == start)
                {
                    var path = new List<string> { current };
                    while (previous.TryGetValue(path[0], out string? before))
                    {
                        path.Insert(0, before);
                    }

                    return path;
                }

                if (previous.TryAdd(next, current))
                {
                    queue.Enqueue(next);
                }
            }
        }

        return null;
    }
}
