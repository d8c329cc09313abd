"""Erasing a participant (GDPR right to erasure): what goes (`erasure_plan`) and the one write
that removes it everywhere (`participant_erase`). Decisions and limits: PRIVACY.md beside this.

It lives in coding because it touches every app below frontend: research (the participant, their
segment overrides, job records), observations (documents, turns, field notes, the PII key) and
coding (excerpts, memos, suggestions, models and every JSON snapshot that quotes text).
"""

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q

from coding.hypotheses import data_changed
from coding.models import (
    AgreementDecision,
    CodebookChange,
    Excerpt,
    HypothesisEvaluation,
    Memo,
    Suggester,
    Suggestion,
)
from coding.privacy import redaction
from observations.models import (
    Document,
    FieldNote,
    PiiCandidate,
    PiiKeyEntry,
    PiiKind,
    PiiKnownName,
    SpeakerTurn,
)
from research.audit import OBJECT_PARTICIPANT, audit_record
from research.models import AuditEvent, Job, Participant, User
from research.signals import send_analysis_data_changed


@dataclass
class ErasurePlan:
    """Everything erasing `participant` removes or rewrites, found without changing anything."""

    participant: Participant
    documents: list[Document]
    # Their turns in documents that are not theirs (group interviews): masked, not deleted.
    shared_turns: list[SpeakerTurn]
    notes: list[FieldNote]
    key_entries: list[PiiKeyEntry]
    known_names: list[PiiKnownName]
    needles: set[str] = field(default_factory=set)
    excerpts: int = 0
    memos: int = 0
    suggestions: int = 0
    manual_segments: int = 0

    def counts(self) -> dict[str, int]:
        """How many of each kind go (the confirmation page and the API answer show these)."""
        return {
            "documents": len(self.documents),
            "shared_turns": len(self.shared_turns),
            "excerpts": self.excerpts,
            "memos": self.memos,
            "suggestions": self.suggestions,
            "field_notes": len(self.notes),
            "pii_key_entries": len(self.key_entries),
            "pii_known_names": len(self.known_names),
            "segment_overrides": self.manual_segments,
        }


def _key_entries(participant: Participant, own_ids: list[int]) -> list[PiiKeyEntry]:
    """Key entries that are this person's: keyed to their pseudonym, or used only in their
    documents (a value also replaced in someone else's document stays: it is not only theirs)."""
    entries = PiiKeyEntry.objects.filter(project_id=participant.project_id)
    used_elsewhere = PiiCandidate.objects.filter(key_id__isnull=False).exclude(
        document_id__in=own_ids
    )
    only_theirs = entries.filter(candidates__document_id__in=own_ids).exclude(
        pk__in=used_elsewhere.values("key_id")
    )
    mine = entries.filter(pseudonym__iexact=participant.pseudonym)
    return list((only_theirs | mine).distinct())


def erasure_plan(participant: Participant) -> ErasurePlan:
    """What `participant_erase` would remove; a fixed number of queries."""
    project_id = participant.project_id
    documents = list(Document.objects.filter(project_id=project_id, participant=participant))
    own_ids = [d.pk for d in documents]
    key_entries = _key_entries(participant, own_ids)
    real_names = {
        e.real_value for e in key_entries if e.kind in (PiiKind.PERSON, PiiKind.KNOWN_NAME)
    }
    known_names = list(
        PiiKnownName.objects.filter(project_id=project_id).filter(
            Q(pseudonym__iexact=participant.pseudonym)
            | Q(pseudonym__in=[e.pseudonym for e in key_entries])
            | Q(name__in=real_names)
        )
    )
    needles = {participant.pseudonym, participant.customer_ref, *real_names}
    needles |= {k.name for k in known_names}
    needles |= {d.title for d in documents} | {d.source_name for d in documents}
    pattern = redaction.needle_pattern(needles)
    notes = [
        note
        for note in FieldNote.objects.filter(session__project_id=project_id)
        if note.participant_id == participant.pk
        or (pattern is not None and pattern.search(note.text))
    ]
    shared_turns = list(
        SpeakerTurn.objects.filter(participant=participant).exclude(document_id__in=own_ids)
    )
    plan = ErasurePlan(
        participant=participant,
        documents=documents,
        shared_turns=shared_turns,
        notes=notes,
        key_entries=key_entries,
        known_names=known_names,
        needles={n for n in needles if n},
    )
    plan.excerpts = Excerpt.objects.filter(document_id__in=own_ids).count()
    plan.memos = Memo.objects.filter(
        Q(document_id__in=own_ids) | Q(excerpt__document_id__in=own_ids)
    ).count()
    plan.suggestions = Suggestion.objects.filter(document_id__in=own_ids).count()
    plan.manual_segments = participant.manual_segments.count()
    return plan


@dataclass
class _Erased:
    """Ids removed so far, for scrubbing the JSON that still points at them."""

    documents: set[int] = field(default_factory=set)
    excerpts: set[int] = field(default_factory=set)
    memos: set[int] = field(default_factory=set)
    suggestions: set[int] = field(default_factory=set)

    def keep(self, name: str, row: dict[str, Any]) -> bool:
        if row.get("document_id") in self.documents or row.get("document") in self.documents:
            return False
        if name == "memos":
            return row.get("id") not in self.memos and row.get("excerpt_id") not in self.excerpts
        if name == "suggestions":
            return row.get("id") not in self.suggestions
        return row.get("id") not in self.excerpts


def _delete_over(document_id: int, ranges: list[tuple[int, int]], erased: _Erased) -> None:
    """Delete the excerpts, suggestions, reconciliations and PII candidates that overlap
    `ranges` of one document: they quote the erased person's words."""
    if not ranges:
        return
    over = Q()
    for start, end in ranges:
        over |= Q(start__lt=end, end__gt=start)
    excerpts = Excerpt.objects.filter(over, document_id=document_id)
    erased.excerpts |= set(excerpts.values_list("pk", flat=True))
    erased.memos |= set(Memo.objects.filter(excerpt__in=excerpts).values_list("pk", flat=True))
    suggestions = Suggestion.objects.filter(over, document_id=document_id)
    erased.suggestions |= set(suggestions.values_list("pk", flat=True))
    suggestions.delete()
    excerpts.delete()
    AgreementDecision.objects.filter(over, document_id=document_id).delete()
    PiiCandidate.objects.filter(over, document_id=document_id).delete()


def _redact_documents(plan: ErasurePlan, pattern: re.Pattern[str] | None, erased: _Erased) -> int:
    """Mask their turns (label and words) and every mention of them in the project's other
    documents, keeping each text's length so every other offset stays valid. Returns how many
    documents changed."""
    from observations.services.editing import document_set_text

    turns_by_doc: dict[int, list[SpeakerTurn]] = {}
    for turn in plan.shared_turns:
        turns_by_doc.setdefault(turn.document_id, []).append(turn)
    others = Document.objects.filter(project_id=plan.participant.project_id).exclude(
        pk__in=erased.documents
    )
    changed = 0
    for document in others.iterator():
        turns = turns_by_doc.get(document.pk, [])
        spoken = [(t.start, t.end) for t in turns]
        labels = [
            r for t in turns if (r := redaction.label_range(document.text, t.start, t.speaker))
        ]
        mentions = redaction.needle_spans(document.text, pattern)
        if not (spoken or labels or mentions):
            if pattern is not None and pattern.search(document.title):
                Document.objects.filter(pk=document.pk).update(
                    title=redaction.scrub_text(document.title, pattern)
                )
            continue
        _delete_over(document.pk, redaction.merge(spoken), erased)
        text = redaction.apply_masks(document.text, [*spoken, *labels, *mentions])
        document.title = redaction.scrub_text(document.title, pattern)
        document.save(update_fields=["title"])
        document_set_text(document=document, text=text)
        # Excerpts and suggestions over a mention stay, quoting the masked words.
        excerpts = list(Excerpt.objects.filter(document_id=document.pk))
        for excerpt in excerpts:
            excerpt.text = text[excerpt.start : excerpt.end]
        Excerpt.objects.bulk_update(excerpts, ["text"])
        suggestions = list(Suggestion.objects.filter(document_id=document.pk))
        for suggestion in suggestions:
            suggestion.text = text[suggestion.start : suggestion.end]
        Suggestion.objects.bulk_update(suggestions, ["text"])
        SpeakerTurn.objects.filter(pk__in=[t.pk for t in turns]).update(
            speaker=redaction.ERASED, participant=None
        )
        changed += 1
    return changed


def _delete_notes(plan: ErasurePlan, erased: _Erased) -> None:
    """Delete their field notes (and notes naming them), with what is coded on them."""
    from observations.services.notes import note_delete

    for note in plan.notes:
        if note.document_start is not None and note.document_end is not None:
            document = Document.objects.filter(
                session_id=note.session_id, kind=Document.Kind.FIELD_NOTES
            ).first()
            if document is not None:
                _delete_over(document.pk, [(note.document_start, note.document_end)], erased)
        note_delete(note=FieldNote.objects.get(pk=note.pk))


def _scrub_free_text(project_id: int, pattern: re.Pattern[str] | None, erased: _Erased) -> None:
    """Names in memos, excerpt memos, and every JSON that snapshots rows or text."""
    memos = list(Memo.objects.filter(project_id=project_id))
    for memo in memos:
        memo.title = redaction.scrub_text(memo.title, pattern)
        memo.text = redaction.scrub_text(memo.text, pattern)
    Memo.objects.bulk_update(memos, ["title", "text"])
    coded = list(Excerpt.objects.filter(project_id=project_id).exclude(memo=""))
    for excerpt in coded:
        excerpt.memo = redaction.scrub_text(excerpt.memo, pattern)
    Excerpt.objects.bulk_update(coded, ["memo"])
    lists = ("excerpts", "memos", "suggestions")
    for change in CodebookChange.objects.filter(project_id=project_id):
        change.before = redaction.scrub_json(
            redaction.drop_rows(change.before, erased.keep, lists), pattern
        )
        change.after = redaction.scrub_json(
            redaction.drop_rows(change.after, erased.keep, lists), pattern
        )
        change.summary = redaction.scrub_text(change.summary, pattern)
        change.save(update_fields=["before", "after", "summary"])
    for decision in AgreementDecision.objects.filter(project_id=project_id):
        decision.before = redaction.scrub_json(
            redaction.drop_rows(decision.before, erased.keep, ()), pattern
        )
        decision.after = redaction.scrub_json(
            redaction.drop_rows(decision.after, erased.keep, ()), pattern
        )
        decision.save(update_fields=["before", "after"])
    for evaluation in HypothesisEvaluation.objects.filter(hypothesis__project_id=project_id):
        evaluation.quote_ids = [i for i in evaluation.quote_ids if i not in erased.excerpts]
        evaluation.numbers = redaction.scrub_json(evaluation.numbers, pattern)
        evaluation.save(update_fields=["quote_ids", "numbers"])
    for job in Job.objects.filter(project_id=project_id):
        job.params = redaction.scrub_json(job.params, pattern)
        job.result = redaction.scrub_json(job.result, pattern)
        job.message = redaction.scrub_text(job.message, pattern)
        job.error = redaction.scrub_text(job.error, pattern)
        job.save(update_fields=["params", "result", "message", "error"])


@transaction.atomic
def participant_erase(
    *, participant: Participant, user: User | None, request: Any = None
) -> dict[str, int]:
    """Remove `participant` and everything that is theirs or quotes them, in one transaction.

    Guarantees: their documents (with excerpts, memos, suggestions, PII candidates) are deleted;
    their turns in other documents are masked to the same length (label and words; excerpts and
    suggestions over those words deleted); mentions of their pseudonym, customer ref, real
    names and document titles are masked in other texts and scrubbed from memos, job records
    and every JSON snapshot; their field notes, PII key entries, known names, segment overrides
    and the trained suggester models are deleted; the participant row goes last. An audit event
    records the counts. Returns those counts.
    """
    participant = Participant.objects.select_for_update().get(pk=participant.pk)
    project_id = participant.project_id
    plan = erasure_plan(participant)
    pattern = redaction.needle_pattern(plan.needles)
    erased = _Erased(documents={d.pk for d in plan.documents})
    own = Excerpt.objects.filter(document_id__in=erased.documents)
    erased.excerpts |= set(own.values_list("pk", flat=True))
    erased.memos |= set(
        Memo.objects.filter(Q(document_id__in=erased.documents) | Q(excerpt__in=own)).values_list(
            "pk", flat=True
        )
    )
    erased.suggestions |= set(
        Suggestion.objects.filter(document_id__in=erased.documents).values_list("pk", flat=True)
    )
    Document.objects.filter(pk__in=erased.documents).delete()
    _delete_notes(plan, erased)
    redacted = _redact_documents(plan, pattern, erased)
    PiiKeyEntry.objects.filter(pk__in=[e.pk for e in plan.key_entries]).delete()
    PiiKnownName.objects.filter(pk__in=[k.pk for k in plan.known_names]).delete()
    _scrub_free_text(project_id, pattern, erased)
    # A trained model's vocabulary holds words of every text it saw: none may outlive erasure.
    suggesters = Suggester.objects.filter(project_id=project_id)
    counts = {**plan.counts(), "documents_redacted": redacted, "suggesters": suggesters.count()}
    suggesters.delete()
    counts["excerpts"] = len(erased.excerpts)
    counts["memos"] = len(erased.memos)
    counts["suggestions"] = len(erased.suggestions)
    participant_id = participant.pk
    participant.delete()
    send_analysis_data_changed(project_id)
    data_changed(project_id)
    audit_record(
        action=AuditEvent.Action.ERASE_PARTICIPANT,
        project=plan.participant.project,
        user=user,
        object_type=OBJECT_PARTICIPANT,
        object_id=participant_id,
        request=request,
        detail=counts,
    )
    return counts
