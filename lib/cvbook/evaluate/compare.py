"""Comparing models on two axes at once: the Pareto front of quality against cost."""

from __future__ import annotations


def pareto_front(results: dict[str, dict], quality: str = "accuracy", cost: str = "latency_ms") -> list[str]:
    """The names of the models that no other model beats on both axes, cheapest first.

    Model b beats model a when b is at least as good on both (results[b][quality] >=
    results[a][quality] and results[b][cost] <= results[a][cost]) and strictly better on
    one; two models with equal numbers on both axes do not beat each other. The front is
    sorted by cost, then by quality (best first), then by name."""
    def beats(b: dict, a: dict) -> bool:
        at_least = b[quality] >= a[quality] and b[cost] <= a[cost]
        return at_least and (b[quality] > a[quality] or b[cost] < a[cost])

    front = [name for name, r in results.items()
             if not any(beats(other, r) for o, other in results.items() if o != name)]
    return sorted(front, key=lambda n: (results[n][cost], -results[n][quality], n))
