"""research_customersegment without foreign-key constraints or per-key indexes (migration 0004).

The database no longer checks a row's snapshot or segment, so these tests hold the import
service to that guarantee on both paths, and the ORM to cascading deletes with one bulk DELETE
per relation (not one query per row).
"""

from typing import Any

import pytest
from django.db import connection

from research.models import CustomerSegment, Segment, Segmentation
from research.selectors_segmentation import segment_summaries
from research.services_segmentation import segmentation_delete, segmentation_import

SEGMENTS = ("gold", "silver", "bronze", "new")


def _csv(rows: int, offset: int = 0) -> bytes:
    lines = ["customer_ref,segment,tenure,plan"]
    for i in range(rows):
        lines.append(f"C{i + offset:05d},{SEGMENTS[i % len(SEGMENTS)]},{i % 37},p{i % 3}")
    return ("\n".join(lines) + "\n").encode()


def _import(team, settings, data: bytes, *, fast: bool, name: str) -> Segmentation:
    settings.SEGMENTATION_PG_FAST_PATH = fast
    return segmentation_import(
        project=team.project,
        user=team.researcher,
        name=name,
        file_name="seg.csv",
        data=data,
        customer_column="customer_ref",
        segment_column="segment",
    )


def _mismatched() -> list[tuple[Any, ...]]:
    """Rows whose segment is missing or belongs to another snapshot (by SQL, not the ORM)."""
    table, segments = CustomerSegment._meta.db_table, Segment._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.id, c.segmentation_id, s.segmentation_id FROM {table} c"  # noqa: S608
            f" LEFT JOIN {segments} s ON s.id = c.segment_id"
            " WHERE s.id IS NULL OR s.segmentation_id <> c.segmentation_id"
        )
        return list(cursor.fetchall())


@pytest.mark.django_db
@pytest.mark.parametrize("fast", [True, False], ids=["default-path", "python-path"])
def test_every_row_segment_belongs_to_its_snapshot_when_imported(team, settings, fast) -> None:
    # Two snapshots with the same segment names: a row pointing at the other snapshot's
    # "gold" would pass any name check, so the ids themselves are compared.
    first = _import(team, settings, _csv(120), fast=fast, name="A")
    second = _import(team, settings, _csv(80, offset=50), fast=fast, name="A")
    assert first.pk != second.pk
    assert _mismatched() == []
    for seg, rows in ((first, 120), (second, 80)):
        assert CustomerSegment.objects.filter(segmentation=seg).count() == rows
        assert set(seg.segments.values_list("name", flat=True)) == set(SEGMENTS)


@pytest.mark.django_db
def test_deleting_a_snapshot_deletes_its_rows_in_bulk(
    team, settings, django_assert_max_num_queries
) -> None:
    doomed = _import(team, settings, _csv(300), fast=True, name="Doomed")
    kept = _import(team, settings, _csv(40), fast=True, name="Kept")
    # Bounded by relations, not rows: 300 rows deleted one by one would take 300 queries.
    with django_assert_max_num_queries(10):
        segmentation_delete(segmentation=doomed)
    assert not Segmentation.objects.filter(pk=doomed.pk).exists()
    assert not CustomerSegment.objects.filter(segmentation_id=doomed.pk).exists()
    assert not Segment.objects.filter(segmentation_id=doomed.pk).exists()
    assert CustomerSegment.objects.filter(segmentation=kept).count() == 40
    assert CustomerSegment.objects.count() == 40
    assert _mismatched() == []


@pytest.mark.django_db
def test_deleting_a_segment_deletes_only_its_rows_in_bulk(
    team, settings, django_assert_max_num_queries
) -> None:
    seg = _import(team, settings, _csv(200), fast=True, name="Snap")
    gold = seg.segments.get(name="gold")
    with django_assert_max_num_queries(4):
        gold.delete()
    remaining = CustomerSegment.objects.filter(segmentation=seg)
    assert remaining.count() == 150
    assert not remaining.filter(segment_id=gold.pk).exists()
    assert _mismatched() == []


@pytest.mark.django_db
def test_summaries_count_sizes_from_the_snapshot_rows(
    team, settings, django_assert_num_queries
) -> None:
    seg = _import(team, settings, _csv(10), fast=True, name="Sizes")
    _import(team, settings, _csv(7), fast=True, name="Other")
    seg.refresh_from_db()
    with django_assert_num_queries(2):
        summaries = segment_summaries(segmentation=seg)
    assert [(s["name"], s["size"]) for s in summaries] == [
        ("bronze", 2),
        ("gold", 3),
        ("new", 2),
        ("silver", 3),
    ]
