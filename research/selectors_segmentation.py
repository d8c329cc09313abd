"""Reads of segmentation snapshots for the API and the pages."""

import statistics
from collections import Counter, defaultdict
from typing import Any

from research.models import CustomerSegment, Segmentation


def segment_summaries(*, segmentation: Segmentation) -> list[dict[str, Any]]:
    """Per segment: id, name, size, and per metric a summary — numeric: median, mean and count of
    values; categorical: value counts; date: earliest and latest. Two queries (the segments, then
    every customer's segment and metrics in one pass, which also counts the sizes: the rows are
    read by snapshot through the unique index; there is no index by segment to join on)."""
    segments = list(segmentation.segments.values("id", "name"))
    sizes: Counter[int] = Counter()
    types = segmentation.metric_types
    numbers: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    categories: dict[int, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    dates: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    rows = CustomerSegment.objects.filter(segmentation=segmentation).values_list(
        "segment_id", "metrics"
    )
    for segment_id, metrics in rows.iterator(chunk_size=10000):
        sizes[segment_id] += 1
        for column, value in metrics.items():
            kind = types.get(column)
            if kind == "numeric" and isinstance(value, int | float):
                numbers[segment_id][column].append(value)
            elif kind == "date" and isinstance(value, str):
                dates[segment_id][column].append(value)
            elif value is not None:
                categories[segment_id][column][str(value)] += 1
    out = []
    for segment in segments:
        pk = segment["id"]
        summary: dict[str, Any] = {}
        for column, kind in types.items():
            if kind == "numeric":
                values = numbers[pk][column]
                summary[column] = {
                    "type": kind,
                    "n": len(values),
                    "median": statistics.median(values) if values else None,
                    "mean": statistics.fmean(values) if values else None,
                }
            elif kind == "date":
                found = dates[pk][column]
                summary[column] = {
                    "type": kind,
                    "n": len(found),
                    "min": min(found) if found else None,
                    "max": max(found) if found else None,
                }
            else:
                counts = categories[pk][column]
                summary[column] = {"type": kind, "counts": dict(counts.most_common())}
        out.append({**segment, "size": sizes[pk], "metrics": summary})
    return out
