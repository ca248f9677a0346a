"""Plausible wrong answers for exercise 09_results (solutions/09_results/results.ipynb):
grade_id of the solution cell -> {label: the student's whole cell}. Each must lose the
points of that part's test cell."""

MUTANTS = {
    "minutes_to_accuracy": {
        "first_touch": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    for m, a in zip(minutes, accuracies):
        if a >= threshold:
            return m
    return None
""",
        "first_touch_if_the_last_epoch_holds": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    if not accuracies or accuracies[-1] < threshold:
        return None
    return next(m for m, a in zip(minutes, accuracies) if a >= threshold)
""",
        "strictly_above": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    start = len(accuracies)
    while start > 0 and accuracies[start - 1] > threshold:
        start -= 1
    return minutes[start] if start < len(accuracies) else None
""",
        "minutes_of_the_last_epoch_below": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    below = [i for i, a in enumerate(accuracies) if a < threshold]
    if below and below[-1] == len(accuracies) - 1:
        return None
    return minutes[below[-1]] if below else minutes[0] if minutes else None
""",
        "returns_the_epoch": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    start = len(accuracies)
    while start > 0 and accuracies[start - 1] >= threshold:
        start -= 1
    return start + 1 if start < len(accuracies) else None
""",
        "only_the_next_epoch_must_hold": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    for i, a in enumerate(accuracies):
        nxt = accuracies[i + 1] if i + 1 < len(accuracies) else a
        if a >= threshold and nxt >= threshold:
            return minutes[i]
    return None
""",
        "sums_the_cumulative_minutes": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    start = len(accuracies)
    while start > 0 and accuracies[start - 1] >= threshold:
        start -= 1
    return sum(minutes[:start + 1]) if start < len(accuracies) else None
""",
        "zero_when_never": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    start = len(accuracies)
    while start > 0 and accuracies[start - 1] >= threshold:
        start -= 1
    return minutes[start] if start < len(accuracies) else 0.0
""",
        "crashes_on_an_empty_run": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    if accuracies[-1] < threshold:
        return None
    i = len(accuracies) - 1
    while i > 0 and accuracies[i - 1] >= threshold:
        i -= 1
    return minutes[i]
""",
        "off_by_one_at_the_first_epoch": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    i = len(accuracies) - 1
    if i < 0 or accuracies[i] < threshold:
        return None
    while i > 1 and accuracies[i - 1] >= threshold:
        i -= 1
    return minutes[i]
""",
    },
    "pareto_front": {
        "strict_on_both_axes": """
def pareto_front(results):
    front = [n for n, a in results.items()
             if not any(b["accuracy"] > a["accuracy"] and b["latency_ms"] < a["latency_ms"] for b in results.values())]
    return sorted(front, key=lambda n: (results[n]["latency_ms"], -results[n]["accuracy"], n))
""",
        "at_least_on_both_drops_twins": """
def pareto_front(results):
    front = [n for n, a in results.items()
             if not any(b["accuracy"] >= a["accuracy"] and b["latency_ms"] <= a["latency_ms"]
                        for m, b in results.items() if m != n)]
    return sorted(front, key=lambda n: (results[n]["latency_ms"], -results[n]["accuracy"], n))
""",
        "higher_latency_is_better": """
def pareto_front(results):
    def beats(b, a):
        at_least = b["accuracy"] >= a["accuracy"] and b["latency_ms"] >= a["latency_ms"]
        return at_least and (b["accuracy"] > a["accuracy"] or b["latency_ms"] > a["latency_ms"])
    front = [n for n, a in results.items() if not any(beats(b, a) for b in results.values())]
    return sorted(front, key=lambda n: (results[n]["latency_ms"], -results[n]["accuracy"], n))
""",
        "sorted_by_accuracy": """
def pareto_front(results):
    def beats(b, a):
        at_least = b["accuracy"] >= a["accuracy"] and b["latency_ms"] <= a["latency_ms"]
        return at_least and (b["accuracy"] > a["accuracy"] or b["latency_ms"] < a["latency_ms"])
    front = [n for n, a in results.items() if not any(beats(b, a) for b in results.values())]
    return sorted(front, key=lambda n: (-results[n]["accuracy"], n))
""",
        "sweep_drops_equal_accuracy": """
def pareto_front(results):
    front, best = [], float("-inf")
    for n in sorted(results, key=lambda n: (results[n]["latency_ms"], -results[n]["accuracy"], n)):
        if results[n]["accuracy"] > best:
            front.append(n)
            best = results[n]["accuracy"]
    return front
""",
        "unsorted": """
def pareto_front(results):
    def beats(b, a):
        at_least = b["accuracy"] >= a["accuracy"] and b["latency_ms"] <= a["latency_ms"]
        return at_least and (b["accuracy"] > a["accuracy"] or b["latency_ms"] < a["latency_ms"])
    return [n for n, a in results.items() if not any(beats(b, a) for b in results.values())]
""",
        "beaten_on_either_axis": """
def pareto_front(results):
    front = [n for n, a in results.items()
             if not any(b["accuracy"] > a["accuracy"] or b["latency_ms"] < a["latency_ms"] for b in results.values())]
    return sorted(front, key=lambda n: (results[n]["latency_ms"], -results[n]["accuracy"], n))
""",
        "ties_not_by_name": """
def pareto_front(results):
    def beats(b, a):
        at_least = b["accuracy"] >= a["accuracy"] and b["latency_ms"] <= a["latency_ms"]
        return at_least and (b["accuracy"] > a["accuracy"] or b["latency_ms"] < a["latency_ms"])
    front = [n for n, a in results.items() if not any(beats(b, a) for b in results.values())]
    return sorted(front, key=lambda n: results[n]["latency_ms"])
""",
    },
    "speedups": {
        "upside_down": """
def speedups(rows):
    base = {r["model"]: r for r in rows if r["variant"] == "float32"}
    def ratio(row, key):
        ref, ms = base.get(row["model"], {}).get(key), row.get(key)
        return ms / ref if ref and ms else None
    return [(ratio(r, "latency_b1_ms"), ratio(r, "latency_b64_ms")) for r in rows]
""",
        "first_row_is_the_base": """
def speedups(rows):
    out = []
    for r in rows:
        ref = rows[0]
        out.append(tuple(ref[k] / r[k] if ref[k] and r[k] else None for k in ("latency_b1_ms", "latency_b64_ms")))
    return out
""",
        "any_float32_row": """
def speedups(rows):
    ref = next(r for r in rows if r["variant"] == "float32")
    return [tuple(ref[k] / r[k] if ref[k] and r[k] else None for k in ("latency_b1_ms", "latency_b64_ms")) for r in rows]
""",
        "float32_seen_so_far": """
def speedups(rows):
    base, out = {}, []
    for r in rows:
        if r["variant"] == "float32":
            base[r["model"]] = r
        ref = base.get(r["model"], {})
        out.append(tuple(ref.get(k) / r[k] if ref.get(k) and r[k] else None for k in ("latency_b1_ms", "latency_b64_ms")))
    return out
""",
        "batch_1_base_for_both": """
def speedups(rows):
    base = {r["model"]: r["latency_b1_ms"] for r in rows if r["variant"] == "float32"}
    return [tuple(base[r["model"]] / r[k] if base.get(r["model"]) and r[k] else None
                  for k in ("latency_b1_ms", "latency_b64_ms")) for r in rows]
""",
        "writes_into_the_rows": """
def speedups(rows):
    base = {r["model"]: r for r in rows if r["variant"] == "float32"}
    for r in rows:
        ref = base.get(r["model"], {})
        for b in ("b1", "b64"):
            ref_ms, ms = ref.get(f"latency_{b}_ms"), r[f"latency_{b}_ms"]
            r[f"speedup_{b}"] = round(ref_ms / ms, 3) if ref_ms and ms else None
    return [(r["speedup_b1"], r["speedup_b64"]) for r in rows]
""",
        "one_when_missing": """
def speedups(rows):
    base = {r["model"]: r for r in rows if r["variant"] == "float32"}
    def ratio(row, key):
        ref, ms = base.get(row["model"], {}).get(key), row.get(key)
        return ref / ms if ref and ms else 1.0
    return [(ratio(r, "latency_b1_ms"), ratio(r, "latency_b64_ms")) for r in rows]
""",
        "rounded_to_one_decimal": """
def speedups(rows):
    base = {r["model"]: r for r in rows if r["variant"] == "float32"}
    def ratio(row, key):
        ref, ms = base.get(row["model"], {}).get(key), row.get(key)
        return round(ref / ms, 1) if ref and ms else None
    return [(ratio(r, "latency_b1_ms"), ratio(r, "latency_b64_ms")) for r in rows]
""",
    },
}

CORRECT = {
    "minutes_to_accuracy": {
        "last_epoch_below": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    below = [i for i, a in enumerate(accuracies) if a < threshold]
    first = below[-1] + 1 if below else 0
    return minutes[first] if first < len(minutes) else None
""",
        "all_later_epochs": """
def minutes_to_accuracy(minutes, accuracies, threshold):
    for i in range(len(accuracies)):
        if all(a >= threshold for a in accuracies[i:]):
            return float(minutes[i])
    return None
""",
    },
    "pareto_front": {
        "sweep_by_latency_groups": """
def pareto_front(results):
    names = sorted(results, key=lambda n: (results[n]["latency_ms"], -results[n]["accuracy"], n))
    front, best = [], float("-inf")
    for n in names:
        acc, ms = results[n]["accuracy"], results[n]["latency_ms"]
        faster = [m for m in names if results[m]["latency_ms"] < ms]
        same = [m for m in names if results[m]["latency_ms"] == ms]
        if all(results[m]["accuracy"] < acc for m in faster) and acc >= max(results[m]["accuracy"] for m in same):
            front.append(n)
    return front
""",
        "tuples_and_dominance_set": """
def pareto_front(results):
    items = [(r["latency_ms"], -r["accuracy"], name) for name, r in results.items()]
    beaten = {a[2] for a in items for b in items
              if b[0] <= a[0] and b[1] <= a[1] and (b[0], b[1]) != (a[0], a[1])}
    return [name for _, _, name in sorted(items) if name not in beaten]
""",
    },
    "speedups": {
        "rounded_like_the_table": """
def speedups(rows):
    float32 = {}
    for r in rows:
        if r["variant"] == "float32":
            float32[r["model"]] = (r["latency_b1_ms"], r["latency_b64_ms"])
    out = []
    for r in rows:
        ref = float32.get(r["model"], (None, None))
        pair = []
        for base, ms in zip(ref, (r["latency_b1_ms"], r["latency_b64_ms"])):
            pair.append(round(base / ms, 3) if base is not None and ms not in (None, 0) and base != 0 else None)
        out.append(pair)
    return out
""",
    },
}
