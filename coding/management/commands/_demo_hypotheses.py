"""The demo's hypotheses (issue 5 point 6): what a researcher of the Northwind study might expect,
tested on the demo's data — one supported by a segment, one by a metric, one not supported.

`add_hypotheses` is idempotent: a hypothesis whose statement is already recorded is skipped.
"""

from typing import Any

from coding.hypotheses import hypothesis_create
from coding.models import Code, Hypothesis
from research.models import Project

HYPOTHESES: list[dict[str, Any]] = [
    {
        "statement": "Price hunters are caught out by their bills more than other customers.",
        "theme": "Billing clarity",
        "kind": "segment",
        "segment": "Price hunters",
        "direction": "more",
    },
    {
        "statement": "Customers who needed a person to help them in their first month spend "
        "more in their first year.",
        "theme": "Human help",
        "kind": "metric",
        "metric": "first_year_spend",
        "direction": "higher",
    },
    {
        "statement": "Digital natives struggle to get activated more than other customers.",
        "theme": "Activation friction",
        "kind": "segment",
        "segment": "Digital natives",
        "direction": "more",
    },
]


def add_hypotheses(project: Project, user: Any) -> int:
    """Record the demo hypotheses against the project's latest snapshot; returns how many were
    added (0 when they are all there already or the project has no snapshot)."""
    snapshot = project.segmentations.order_by("-imported_at", "-id").first()
    if snapshot is None:
        return 0
    known = set(Hypothesis.objects.filter(project=project).values_list("statement", flat=True))
    added = 0
    for spec in HYPOTHESES:
        if spec["statement"] in known:
            continue
        theme = Code.objects.get(project=project, parent=None, name=spec["theme"])
        hypothesis_create(
            project=project,
            user=user,
            statement=spec["statement"],
            code=theme,
            kind=spec["kind"],
            segmentation=snapshot,
            segment=spec.get("segment", ""),
            metric=spec.get("metric", ""),
            direction=spec["direction"],
        )
        added += 1
    return added
