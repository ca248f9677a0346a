"""Results as Markdown tables (the book renders them, a terminal shows them as they are;
no pandas needed)."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    """A Markdown table: one header row, then one row per sequence of cells (shown with str)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def compression_table(rows: list[dict]) -> str:
    """The compression results (one dict per variant, as `tools/compression_benchmark.py`
    stores them): size, accuracy and latency, each against the float32 row."""
    def mb(v):
        return "" if v is None else f"{v / 1e6:.3f}"

    def num(v, fmt):
        return "" if v is None else format(v, fmt)

    header = ["model", "variant", "size MB", "x smaller", "gzip MB", "sparse+gzip MB", "accuracy %",
              "batch 1 ms", "x float", "batch 64 ms", "x float", "note"]
    table = markdown_table(header, [
        [r["model"], r["variant"], mb(r["size_bytes"]), num(r["size_ratio"], ".2f"), mb(r["size_gzip_bytes"]),
         mb(r["size_sparse_gzip_bytes"]), "" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}",
         num(r["latency_b1_ms"], ".3f"), num(r["speedup_b1"], ".2f"), num(r["latency_b64_ms"], ".2f"),
         num(r["speedup_b64"], ".2f"), (r.get("note") or "").replace("|", "/")] for r in rows])
    # right-align the figures, as the stored tables always have
    lines = table.split("\n")
    lines[1] = "|---|---|" + "---:|" * 9 + "---|"
    return "\n".join(lines)


def set_speedups(rows: list[dict]) -> list[dict]:
    """Set each row's speedup_b1/speedup_b64 to the float32 row's latency over the row's
    own latency (of the same model and batch size), so that "x float" always equals
    float32 ms / row ms as the table shows them; None where either latency is missing (or
    0) or the model has no float32 row. Rows are changed in place and returned."""
    base = {r["model"]: r for r in rows if r["variant"] == "float32"}
    for row in rows:
        ref = base.get(row["model"])
        for batch in ("b1", "b64"):
            ms = row.get(f"latency_{batch}_ms")
            ref_ms = ref.get(f"latency_{batch}_ms") if ref else None
            row[f"speedup_{batch}"] = round(ref_ms / ms, 3) if ms and ref_ms else None
    return rows
