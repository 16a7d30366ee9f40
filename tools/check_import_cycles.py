"""Fail when modules of ``mobilend`` import each other in a cycle.

The import graph is grimp's (the one import-linter checks contracts on): every import
statement counts, those inside functions too, except the ones under
``if TYPE_CHECKING:``. A package is its ``__init__`` module, so a cycle through a
package's ``__init__`` shows as one. Each group of modules that reach one another is
reported with the shortest cycle through each of its members and the lines that import.

    python tools/check_import_cycles.py [package ...]    # default: mobilend
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterable, Mapping
from itertools import pairwise

import grimp

Graph = Mapping[str, frozenset[str]]


def import_graph(packages: Iterable[str]) -> tuple[grimp.ImportGraph, Graph]:
    names = list(packages)
    graph = grimp.build_graph(*names, exclude_type_checking_imports=True, cache_dir=None)
    edges = {
        module: frozenset(graph.find_modules_directly_imported_by(module))
        for module in graph.modules
    }
    return graph, edges


def strongly_connected(edges: Graph) -> list[list[str]]:
    """Groups of modules that all reach one another (Tarjan, iterative), with more than
    one module or a module that imports itself; sorted for stable output."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in edges:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1 or node in edges[node]:
                    groups.append(sorted(group))
    return sorted(groups)


def shortest_cycle(start: str, members: set[str], edges: Graph) -> list[str]:
    """The shortest path ``start -> ... -> start`` inside ``members``."""
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(edges[node] & members):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if nxt not in came_from:
                came_from[nxt] = node
                queue.append(nxt)
    raise AssertionError(f"{start} is in no cycle")


def canonical(cycle: list[str]) -> tuple[str, ...]:
    """The same cycle whichever member it starts from."""
    ring = cycle[:-1]
    first = ring.index(min(ring))
    return tuple(ring[first:] + ring[:first])


def describe(graph: grimp.ImportGraph, cycle: tuple[str, ...]) -> list[str]:
    lines = []
    ring = [*cycle, cycle[0]]
    for importer, imported in pairwise(ring):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"line {d['line_number']}" for d in details) or "?"
        lines.append(f"    {importer} -> {imported}  ({where})")
    return lines


def main(argv: list[str]) -> int:
    packages = argv or ["mobilend"]
    graph, edges = import_graph(packages)
    groups = strongly_connected(edges)
    if not groups:
        print(f"No import cycles in {', '.join(packages)} ({len(edges)} modules).")
        return 0
    cycles = 0
    print(f"Import cycles in {', '.join(packages)}: {len(groups)} group(s) of modules.")
    for number, group in enumerate(groups, 1):
        members = set(group)
        print(f"\n{number}. {', '.join(group)}")
        seen: set[tuple[str, ...]] = set()
        for module in group:
            cycle = canonical(shortest_cycle(module, members, edges))
            if cycle in seen:
                continue
            seen.add(cycle)
            cycles += 1
            print("  cycle:")
            print("\n".join(describe(graph, cycle)))
    print(f"\n{cycles} cycle(s) listed. Break each one: move what both sides need into a")
    print("module both can import, or register the dependent explicitly where it is used.")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
