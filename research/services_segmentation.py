"""Writes and comparisons for segmentation snapshots.

`segmentation_import` is all-or-nothing: the whole file is read and validated before anything is
written, and the write happens in one transaction. On PostgreSQL a CSV file takes the SQL fast path
(research/segmentation_pg.py: COPY of the raw cells, checks and one INSERT ... SELECT) unless it
cannot be sure to match the Python path; otherwise customer rows are read, checked and converted
in Python and go in with COPY (psycopg 3) on PostgreSQL, with bulk_create in batches elsewhere.
"""

import itertools
import json
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Count, Max

from research import segmentation_files as files
from research import segmentation_pg
from research.jobs import job_progress
from research.models import (
    CustomerSegment,
    Job,
    Participant,
    ParticipantSegment,
    Project,
    Segment,
    Segmentation,
    User,
)
from research.signals import send_analysis_data_changed

logger = logging.getLogger(__name__)

_BATCH = 5000


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: str) -> str:
    """`value` escaped for COPY's text format (backslash, tab, newline, carriage return)."""
    return (
        value.translate(_COPY_ESCAPES)
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value
        else value
    )


def _column(header: list[str], name: str, field: str) -> int:
    wanted = name.strip()
    if wanted not in header:
        raise ValidationError(
            {field: f"No column {wanted!r} in the file; its columns are {', '.join(header)}."}
        )
    return header.index(wanted)


def _report_error(report: files.Report) -> ValidationError:
    error = ValidationError(
        f"The file has {report.total} problem(s); nothing was imported.", code="invalid_file"
    )
    # research/api/errors.py and the job result read these rows.
    error.errors = [problem.as_dict() for problem in report.problems]  # type: ignore[attr-defined]
    return error


def segmentation_import(
    *,
    project: Project,
    user: User | None,
    name: str,
    file_name: str,
    data: bytes,
    customer_column: str,
    segment_column: str,
    type_overrides: dict[str, str] | None = None,
    job: Job | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Segmentation:
    """Import a snapshot as the next version of `name`; nothing is written if any row is bad.

    The snapshot, its segments and its customers are written in one transaction, every customer
    pointing at a segment of its own snapshot (on both paths: the database has no foreign-key
    constraints on customers to check that).

    Raises ValidationError (with an `errors` list of {row, column, message}) naming every problem.
    """
    if not name.strip():
        raise ValidationError({"name": "Give the snapshot a name."})
    try:
        header = files.read_header(file_name, data)
    except files.FileFormatError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    customer_index = _column(header, customer_column, "customer_column")
    segment_index = _column(header, segment_column, "segment_column")
    if customer_index == segment_index:
        raise ValidationError({"segment_column": "Pick a segment column other than the id column."})
    metric_columns = [
        i for i, col in enumerate(header) if i not in (customer_index, segment_index) and col
    ]
    overrides = type_overrides or {}
    forced: dict[int, str] = {}
    for column, metric_type in overrides.items():
        if metric_type not in files.METRIC_TYPES:
            raise ValidationError({"types": f"Unknown type {metric_type!r} for {column!r}."})
        index = _column(header, column, "types")
        if index in (customer_index, segment_index):
            raise ValidationError({"types": f"{column!r} is not a metric column."})
        forced[index] = metric_type
    if segmentation_pg.available(file_name):
        try:
            return _import_pg(
                project=project,
                user=user,
                name=name.strip(),
                file_name=file_name,
                data=data,
                plan=segmentation_pg.Plan(
                    header, customer_index, segment_index, metric_columns, forced
                ),
                job=job,
                progress=progress,
            )
        except segmentation_pg.Fallback as reason:
            logger.info("Segmentation import: Python path (%s)", reason)
    unforced = [i for i in metric_columns if i not in forced]
    types: dict[int, str] = dict(
        files.infer_types(header, files.read_table(file_name, data).rows, unforced)
    )
    types.update(forced)
    report = files.Report()
    segment_names: set[str] = set()
    total = files.validate_rows(
        header,
        files.read_table(file_name, data).rows,
        customer_index,
        segment_index,
        forced,
        report,
        segment_names,
    )
    if total == 0:
        report.add(None, None, "The file has no data rows.")
    if not report.ok:
        raise _report_error(report)
    if job is not None:
        job_progress(job=job, progress=0.05, message="File checked; writing customers")
    with transaction.atomic():
        send_analysis_data_changed(project.pk)
        return _write(
            project=project,
            user=user,
            name=name.strip(),
            file_name=file_name,
            header=header,
            rows=files.read_table(file_name, data).rows,
            customer_index=customer_index,
            segment_index=segment_index,
            types=types,
            metric_columns=metric_columns,
            total=total,
            segment_names=segment_names,
            job=job,
            progress=progress,
        )


def _import_pg(
    *,
    project: Project,
    user: User | None,
    name: str,
    file_name: str,
    data: bytes,
    plan: segmentation_pg.Plan,
    job: Job | None,
    progress: Callable[[int, int], None] | None,
) -> Segmentation:
    """The PostgreSQL fast path; raises Fallback (having written nothing) when it cannot decide."""
    report = files.Report()

    def phase(done: float, message: str) -> None:
        if job is not None:
            job_progress(job=job, progress=done, message=message)

    def create(types: dict[int, str], total: int) -> Segmentation:
        # Inside the import transaction, as on the Python path.
        send_analysis_data_changed(project.pk)
        return _create_segmentation(
            project=project,
            user=user,
            name=name,
            file_name=file_name,
            header=plan.header,
            customer_index=plan.customer_index,
            segment_index=plan.segment_index,
            metric_types={plan.header[i]: types[i] for i in plan.metric_columns},
            total=total,
        )

    segmentation = segmentation_pg.import_csv(
        plan=plan, data=data, report=report, create_segmentation=create, phase=phase
    )
    if segmentation is None:
        raise _report_error(report)
    if progress is not None:
        progress(segmentation.customer_count, segmentation.customer_count)
    return segmentation


def _create_segmentation(
    *,
    project: Project,
    user: User | None,
    name: str,
    file_name: str,
    header: list[str],
    customer_index: int,
    segment_index: int,
    metric_types: dict[str, str],
    total: int,
) -> Segmentation:
    """The snapshot row, as the next version of `name` (call inside the import transaction)."""
    # Lock the project row so two concurrent imports of one name cannot take the same version.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    latest = Segmentation.objects.filter(project=project, name=name).aggregate(v=Max("version"))
    return Segmentation.objects.create(
        project=project,
        name=name,
        version=(latest["v"] or 0) + 1,
        source_name=file_name[:255],
        customer_column=header[customer_index],
        segment_column=header[segment_index],
        customer_count=total,
        metric_types=metric_types,
        created_by=user,
    )


def _write(
    *,
    project: Project,
    user: User | None,
    name: str,
    file_name: str,
    header: list[str],
    rows: Iterable[list[str]],
    customer_index: int,
    segment_index: int,
    types: dict[int, str],
    metric_columns: list[int],
    total: int,
    segment_names: set[str],
    job: Job | None,
    progress: Callable[[int, int], None] | None,
) -> Segmentation:
    """Create the snapshot, its segments and its customers (inside the caller's transaction).

    Integrity the database no longer checks (see `CustomerSegment`): every row's segment id is
    looked up by name among the segments this call just created for this snapshot.
    """
    segmentation = _create_segmentation(
        project=project,
        user=user,
        name=name,
        file_name=file_name,
        header=header,
        customer_index=customer_index,
        segment_index=segment_index,
        metric_types={header[i]: types[i] for i in metric_columns},
        total=total,
    )
    # Segments first: nothing else may run on the connection while a COPY is open.
    created = Segment.objects.bulk_create(
        [Segment(segmentation=segmentation, name=n) for n in sorted(segment_names)]
    )
    segment_ids = {segment.name: segment.pk for segment in created}
    if None in segment_ids.values():  # backends that do not return ids from bulk_create
        segment_ids = dict(
            Segment.objects.filter(segmentation=segmentation).values_list("name", "pk")
        )
    metrics = [(header[i], i, types[i]) for i in metric_columns]
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    convert = files.convert

    def records() -> Iterator[tuple[int, str, int, str]]:
        seg_pk = segmentation.pk
        for row in rows:
            if not "".join(row).strip():
                continue
            width = len(row)
            values: dict[str, Any] = {}
            for column, index, metric_type in metrics:
                if index < width and row[index].strip():
                    values[column] = convert(metric_type, row[index])
            yield (
                seg_pk,
                row[customer_index].strip(),
                segment_ids[row[segment_index].strip()],
                dumps(values),
            )

    chunk = max(_BATCH, total // 20)
    done = 0
    stream = records()
    while done < total:
        part = list(itertools.islice(stream, chunk))
        if not part:
            break
        if connection.vendor == "postgresql":
            table = CustomerSegment._meta.db_table
            sql = f"COPY {table} (segmentation_id, customer_ref, segment_id, metrics) FROM STDIN"
            # One text-format buffer per chunk: much cheaper than write_row per record.
            buffer = "".join(
                f"{seg}\t{_copy_text(ref)}\t{seg_id}\t{_copy_text(metrics_json)}\n"
                for seg, ref, seg_id, metrics_json in part
            )
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                copy.write(buffer.encode())
        else:
            CustomerSegment.objects.bulk_create(
                [
                    CustomerSegment(
                        segmentation_id=seg,
                        customer_ref=ref,
                        segment_id=seg_id,
                        metrics=json.loads(metrics_json),
                    )
                    for seg, ref, seg_id, metrics_json in part
                ],
                batch_size=_BATCH,
            )
        done += len(part)
        if progress is not None:
            progress(done, total)
        if job is not None:
            # Inside the import transaction: visible to the task's own connection at once, to
            # other connections only at commit (the job's final state is what pollers rely on).
            job_progress(
                job=job, progress=0.05 + 0.95 * done / total, message=f"{done} of {total} rows"
            )
    return segmentation


@transaction.atomic
def segmentation_delete(*, segmentation: Segmentation) -> None:
    """Delete a snapshot with its customers, segments and manual assignments.

    The ORM cascades (there are no database constraints on customers): one bulk DELETE per
    relation, whatever the number of rows.
    """
    segmentation.delete()


def segmentation_compare(a: Segmentation, b: Segmentation) -> dict[str, Any]:
    """Who moved where between snapshots `a` and `b`, counted by the database.

    Returns {"moves": [{"from", "to", "customers"}] (including staying put, from == to),
    "appeared": n (in b only), "disappeared": n (in a only)}.
    """
    in_b = CustomerSegment.objects.filter(
        segmentation=b, customer_ref=models.OuterRef("customer_ref")
    )
    moves = (
        CustomerSegment.objects.filter(segmentation=a)
        .annotate(to=models.Subquery(in_b.values("segment__name")[:1]))
        .filter(to__isnull=False)
        .values("segment__name", "to")
        .annotate(customers=Count("id"))
        .order_by("segment__name", "to")
    )
    disappeared = (
        CustomerSegment.objects.filter(segmentation=a).exclude(models.Exists(in_b)).count()
    )
    in_a = CustomerSegment.objects.filter(
        segmentation=a, customer_ref=models.OuterRef("customer_ref")
    )
    appeared = CustomerSegment.objects.filter(segmentation=b).exclude(models.Exists(in_a)).count()
    return {
        "moves": [
            {"from": row["segment__name"], "to": row["to"], "customers": row["customers"]}
            for row in moves
        ],
        "appeared": appeared,
        "disappeared": disappeared,
    }


def participant_match_report(*, project: Project, segmentation: Segmentation) -> dict[str, Any]:
    """Participants matched to the snapshot by customer_ref, unmatched, and ambiguous.

    Ambiguous: a customer_ref shared by several participants (each is listed there, not matched).
    Unmatched: a customer_ref not in the snapshot, or no customer_ref at all.
    """
    participants = list(
        Participant.objects.filter(project=project)
        .annotate(
            in_snapshot=models.Exists(
                CustomerSegment.objects.filter(
                    segmentation=segmentation, customer_ref=models.OuterRef("customer_ref")
                )
            ),
            manual=models.Subquery(
                ParticipantSegment.objects.filter(
                    segmentation=segmentation, participant=models.OuterRef("pk")
                ).values("segment__name")[:1]
            ),
        )
        .order_by("pseudonym", "id")
    )
    counts: dict[str, int] = {}
    for participant in participants:
        if participant.customer_ref:
            counts[participant.customer_ref] = counts.get(participant.customer_ref, 0) + 1
    report: dict[str, list[dict[str, Any]]] = {"matched": [], "unmatched": [], "ambiguous": []}
    for participant in participants:
        entry = {
            "id": participant.pk,
            "pseudonym": participant.pseudonym,
            "customer_ref": participant.customer_ref,
            "manual_segment": participant.manual,
        }
        ref = participant.customer_ref
        if ref and counts[ref] > 1:
            report["ambiguous"].append(entry)
        elif ref and participant.in_snapshot:
            report["matched"].append(entry)
        else:
            report["unmatched"].append(entry)
    return report


@transaction.atomic
def participant_segment_set(
    *, participant: Participant, segmentation: Segmentation, segment: Segment | None
) -> ParticipantSegment | None:
    """Set (or clear, with None) a participant's segment by hand for one snapshot."""
    if participant.project_id != segmentation.project_id:
        raise ValidationError({"segmentation": "That snapshot belongs to another project."})
    send_analysis_data_changed(participant.project_id)
    if segment is None:
        ParticipantSegment.objects.filter(
            participant=participant, segmentation=segmentation
        ).delete()
        return None
    if segment.segmentation_id != segmentation.pk:
        raise ValidationError({"segment": "That segment is not in this snapshot."})
    assignment, _ = ParticipantSegment.objects.update_or_create(
        participant=participant, segmentation=segmentation, defaults={"segment": segment}
    )
    return assignment


def participant_segments(*, project: Project, segmentation: Segmentation) -> dict[int, str]:
    """{participant id: segment name} from the snapshot (by customer_ref) or set by hand.

    A manual assignment wins over the snapshot; participants with neither are absent. A
    customer_ref shared by several participants is ambiguous (as in the match report): those
    participants take no segment from the snapshot, only one set by hand. Two queries.
    """
    shared = (
        Participant.objects.filter(project=project)
        .exclude(customer_ref="")
        .values("customer_ref")
        .annotate(n=models.Count("id"))
        .filter(n__gt=1)
        .values("customer_ref")
    )
    from_snapshot = (
        Participant.objects.filter(project=project)
        .exclude(customer_ref="")
        .exclude(customer_ref__in=shared)
        .annotate(
            segment_name=models.Subquery(
                CustomerSegment.objects.filter(
                    segmentation=segmentation, customer_ref=models.OuterRef("customer_ref")
                ).values("segment__name")[:1]
            )
        )
    )
    result = {
        pk: name for pk, name in from_snapshot.values_list("pk", "segment_name") if name is not None
    }
    manual = ParticipantSegment.objects.filter(
        segmentation=segmentation, participant__project=project
    ).values_list("participant_id", "segment__name")
    result.update(dict(manual))
    return result
