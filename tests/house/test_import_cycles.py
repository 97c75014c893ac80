"""No import cycles among our modules, lazy (in-function) imports included."""

from __future__ import annotations

from collections import deque


def test_no_import_cycles(source_tree):
    cycles = find_cycles(source_tree)
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(cycles)


def test_the_cycle_finder_sees_lazy_imports(source_tree):
    """Guards the finder: every module has an import it resolves, lazy ones are seen."""
    edges = [e for m in source_tree.modules.values() for e in source_tree.edges(m)]
    assert any(e.lazy for e in edges)
    assert any(not e.lazy for e in edges)
    by_source = {e.source for e in edges}
    assert "fleetstack.cli.main" in by_source
    assert "fleetstack.engine.runner.supervisor" in by_source


def find_cycles(source_tree) -> list[str]:
    """One line per cycle, `a -> b (line 12, lazy) -> a`: the shortest cycle through every
    module that is in one, each cycle once."""
    graph: dict[str, dict[str, tuple[int, bool]]] = {}
    for module in source_tree.modules.values():
        for edge in source_tree.edges(module):
            graph.setdefault(edge.source, {}).setdefault(edge.target, (edge.line, edge.lazy))
    seen: set[tuple[str, ...]] = set()
    lines = []
    for start in sorted(graph):
        path = _shortest_cycle(graph, start)
        if path is None:
            continue
        pivot = path.index(min(path))
        key = tuple(path[pivot:] + path[:pivot])
        if key in seen:
            continue
        seen.add(key)
        lines.append(_describe(graph, list(key)))
    return lines


def _shortest_cycle(graph: dict[str, dict[str, tuple[int, bool]]], start: str) -> list[str] | None:
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in graph.get(node, {}):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if target not in came_from:
                came_from[target] = node
                queue.append(target)
    return None


def _describe(graph: dict[str, dict[str, tuple[int, bool]]], cycle: list[str]) -> str:
    parts = [_short(cycle[0])]
    for source, target in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        line, lazy = graph[source][target]
        parts.append(f"-> {_short(target)} (line {line}{', lazy' if lazy else ''})")
    return " ".join(parts)


def _short(name: str) -> str:
    return name.removeprefix("fleetstack.")
