"""`cvbook data ...` (placeholder being replaced by the data work)."""


def register(sub):
    p = sub.add_parser("data", help="locate, inspect, fetch and curate datasets")
    p.set_defaults(func=lambda args: 0)
