"""The export's participants as REFI-QDA Cases with Variables, its GUIDs, and the part of its
data-loss list that counts what REFI-QDA has no place for (see coding/refi/export.py)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Any

from django.db.models import F, Func, IntegerField, QuerySet, Subquery
from django.db.models.functions import Coalesce

from coding.models import Hypothesis, Suggester, Suggestion
from coding.refi.model import QdaCase, QdaVariable, VariableType, VariableValue
from observations.models import (
    FieldNote,
    ObservationSession,
    PiiKeyEntry,
    PiiKnownName,
    SpeakerTurn,
)
from research.models import (
    CustomerSegment,
    Membership,
    Participant,
    ParticipantSegment,
    Project,
    Segmentation,
)

# Never change: every GUID Verbatim has exported derives from it.
NAMESPACE = uuid.UUID("691be0a5-b27b-4fd3-812f-9effeaf1d01f")
CUSTOMER_REF_VARIABLE = "customer_ref"
SEGMENT_PREFIX = "Segment: "
KIND_VARIABLE = "Verbatim document kind"
SESSION_VARIABLE = "Verbatim observation session"
# An attribute named like one of the variables above is exported under its name + this.
ATTRIBUTE_SUFFIX = " (attribute)"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def stable_guid(project: Project, *parts: object) -> str:
    """The GUID of one exported object: the same for the same project slug and parts, always."""
    key = "/".join([project.slug, *(str(part) for part in parts)])
    return str(uuid.uuid5(NAMESPACE, key)).upper()


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def infer_type(values: list[Any]) -> VariableType:
    """The REFI-QDA type that holds every present value (None and "" are absent)."""
    present = [value for value in values if value is not None and value != ""]
    if not present:
        return "Text"
    if all(isinstance(value, bool) for value in present):
        return "Boolean"
    if all(isinstance(value, int) and not isinstance(value, bool) for value in present):
        return "Integer"
    if all(_is_number(value) for value in present):
        return "Float"
    if all(_is_date(value) for value in present):
        return "Date"
    return "Text"


def typed_value(value: Any, type_: VariableType) -> VariableValue:
    """`value` as a value of `type_` (which `infer_type` chose for it); None when absent."""
    if value is None or value == "":
        return None
    if type_ == "Float":
        return float(value)
    if type_ == "Date":
        return dt.date.fromisoformat(value)
    if type_ in ("Boolean", "Integer") or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _variable_name(attribute: str) -> str:
    reserved = {CUSTOMER_REF_VARIABLE, KIND_VARIABLE, SESSION_VARIABLE}
    clash = attribute in reserved or attribute.startswith(SEGMENT_PREFIX)
    return attribute + ATTRIBUTE_SUFFIX if clash else attribute


def build_cases(
    project: Project, sources_of: Mapping[int, list[str]]
) -> tuple[list[QdaVariable], list[QdaCase]]:
    """The case variables (customer_ref, attributes by name, segments by snapshot name) and one
    case per participant, linked to the sources in `sources_of[participant pk]`. At most four
    queries."""
    participants: list[dict[str, Any]] = [
        dict(row)
        for row in Participant.objects.filter(project=project)
        .order_by("pseudonym", "id")
        .values("pk", "pseudonym", "customer_ref", "attributes")
    ]
    for row in participants:
        if not isinstance(row["attributes"], dict):
            row["attributes"] = {}
    variables: list[QdaVariable] = []
    ref_guid = stable_guid(project, "variable", "customer_ref")
    if any(row["customer_ref"] for row in participants):
        variables.append(QdaVariable(guid=ref_guid, name=CUSTOMER_REF_VARIABLE))
    attributes = sorted({name for row in participants for name in row["attributes"]})
    types: dict[str, VariableType] = {}
    for name in attributes:
        types[name] = infer_type([row["attributes"].get(name) for row in participants])
        variables.append(
            QdaVariable(
                guid=stable_guid(project, "variable", "attribute", name),
                name=_variable_name(name),
                type=types[name],
            )
        )
    segments, snapshots = _segments(project, participants)
    for name in snapshots:
        guid = stable_guid(project, "variable", "segment", name)
        variables.append(QdaVariable(guid=guid, name=f"{SEGMENT_PREFIX}{name}"))
    cases = []
    for row in participants:
        values: dict[str, VariableValue] = {}
        if row["customer_ref"]:
            values[ref_guid] = row["customer_ref"]
        for name in attributes:
            value = typed_value(row["attributes"].get(name), types[name])
            if value is not None:
                values[stable_guid(project, "variable", "attribute", name)] = value
        for name in snapshots:
            segment = segments.get((name, row["pk"]))
            if segment is not None:
                values[stable_guid(project, "variable", "segment", name)] = segment
        cases.append(
            QdaCase(
                guid=stable_guid(project, "participant", row["pk"]),
                name=row["pseudonym"],
                variables=values,
                source_guids=list(sources_of.get(row["pk"], [])),
            )
        )
    return variables, cases


def _segments(
    project: Project, participants: list[dict[str, Any]]
) -> tuple[dict[tuple[str, int], str], list[str]]:
    """`{(snapshot name, participant pk): segment name}` for each snapshot's latest version,
    and the snapshot names. The rules of `research.services_segmentation.participant_segments`
    (a hand-set segment wins; a customer_ref shared by participants matches none), for every
    snapshot at once: three queries, whatever their number."""
    latest: dict[str, int] = {}
    for pk, name in (
        Segmentation.objects.filter(project=project)
        .order_by("name", "-version")
        .values_list("pk", "name")
    ):
        latest.setdefault(name, pk)
    if not latest:
        return {}, []
    name_of = {pk: name for name, pk in latest.items()}
    refs = Participant.objects.filter(project=project).exclude(customer_ref="")
    rows = CustomerSegment.objects.filter(
        segmentation_id__in=list(name_of), customer_ref__in=refs.values("customer_ref")
    ).values_list("segmentation_id", "customer_ref", "segment__name")
    by_ref = {(name_of[seg], ref): segment for seg, ref, segment in rows}
    shared = Counter(row["customer_ref"] for row in participants if row["customer_ref"])
    result: dict[tuple[str, int], str] = {}
    for row in participants:
        ref = row["customer_ref"]
        if not ref or shared[ref] > 1:
            continue
        for name in latest:
            if (name, ref) in by_ref:
                result[(name, row["pk"])] = by_ref[(name, ref)]
    manual = ParticipantSegment.objects.filter(
        segmentation_id__in=list(name_of), participant__project=project
    ).values_list("segmentation_id", "participant_id", "segment__name")
    for seg, participant, segment in manual:
        result[(name_of[seg], participant)] = segment
    return result, sorted(latest)


def _count(queryset: QuerySet[Any]) -> Coalesce:
    # COUNT as a plain function, not an aggregate: no GROUP BY, one row per subquery.
    counted = queryset.order_by().annotate(
        n=Func(F("pk"), function="COUNT", output_field=IntegerField())
    )
    return Coalesce(Subquery(counted.values("n")), 0)


def case_loss(project: Project) -> list[str]:
    """What REFI-QDA has no place for, counted in one query: one sentence per kind of thing
    present (plain ASCII with numbers only, so it fits an HTTP header)."""
    counts = (
        Project.objects.filter(pk=project.pk)
        .annotate(
            n_turns=_count(SpeakerTurn.objects.filter(document__project=project)),
            n_snapshots=_count(Segmentation.objects.filter(project=project)),
            n_consents=_count(Participant.objects.filter(project=project).exclude(consent={})),
            n_sessions=_count(ObservationSession.objects.filter(project=project)),
            n_notes=_count(FieldNote.objects.filter(session__project=project)),
            n_suggestions=_count(Suggestion.objects.filter(project=project)),
            n_suggesters=_count(Suggester.objects.filter(project=project)),
            n_hypotheses=_count(Hypothesis.objects.filter(project=project)),
            n_pii=_count(PiiKeyEntry.objects.filter(project=project)),
            n_names=_count(PiiKnownName.objects.filter(project=project)),
            n_members=_count(Membership.objects.filter(project=project)),
        )
        .values()
        .get()
    )
    sentences = {
        "n_turns": "{} speaker turn(s) (speaker, participant, timestamps): REFI-QDA text sources "
        "have no turns.",
        "n_snapshots": "Segment metrics and older versions of {} segmentation snapshot(s): only "
        "each snapshot's latest segment per participant is exported, as a case variable.",
        "n_consents": "Consent records of {} participant(s).",
        "n_sessions": "{} observation session(s): only their titles, as a variable of their "
        "documents (site, channel, journey stage, times and who was present are not carried).",
        "n_notes": "Kind, time and participant of {} field note(s) (their text is in the "
        "session's document).",
        "n_suggestions": "{} suggestion(s) and their decisions.",
        "n_suggesters": "{} trained suggester version(s).",
        "n_hypotheses": "{} hypothesis(es) and their evaluations.",
        "n_pii": "The PII key ({} entr(ies)): never exported.",
        "n_names": "{} known name(s) for PII detection: never exported.",
        "n_members": "Project roles of {} member(s): REFI-QDA users have no roles.",
    }
    return [text.format(counts[key]) for key, text in sentences.items() if counts[key]]
