"""Deploy waves (ResolvedGraph.waves): providers first; a dependency cycle settles together, the same every run."""

from __future__ import annotations

import itertools

from ink.graph import ResolvedGraph


class _Graph(ResolvedGraph):
    """A graph given by its dependencies alone."""

    def __init__(self, depends_on: dict[str, set[str]]) -> None:  # only what waves() reads
        self._depends_on = depends_on

    @property
    def depends_on(self) -> dict[str, set[str]]:
        return {name: set(deps) for name, deps in self._depends_on.items()}


def test_a_cycle_shares_one_wave_whatever_the_order() -> None:
    # coder ⇄ gitea (a link each way), both on the database; a consumer of coder after them.
    base = {"db": set(), "gitea": {"db", "coder"}, "coder": {"db", "gitea"}, "portal": {"coder"}}
    results = set()
    for order in itertools.permutations(base):
        waves = _Graph({name: base[name] for name in order}).waves()
        results.add(tuple(sorted(waves.items())))
    assert len(results) == 1  # no dependence on the order the services come in
    waves = dict(results.pop())
    assert waves["db"] == 0
    assert waves["gitea"] == waves["coder"] == 1
    assert waves["portal"] == 1  # settled with the cycle it waits on (Argo CD retries until healthy)


def test_without_a_cycle_each_service_follows_its_deepest_dependency() -> None:
    waves = _Graph({"db": set(), "auth": {"db"}, "app": {"db", "auth"}}).waves()
    assert waves == {"app": 2, "auth": 1, "db": 0}
