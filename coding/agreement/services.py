"""Reconciling a disputed passage: every write goes through the excerpt service (so the data-
changed signal and hypothesis refresh apply) and is recorded as an `AgreementDecision`.

Actions on the excerpts of ``code`` in ``document`` overlapping ``[start, end)`` of the given
coders (all coders when none are given):

* ``keep``: the chosen coder's version wins (the coder named, or the coder of the excerpt
  named); the other coders' excerpts there are deleted. A coder with no excerpt there wins too:
  the code is then removed from the passage ("the code does not apply here").
* ``merge``: one excerpt of the union span replaces them. It is the caller's own excerpt, widened,
  when the caller coded the passage (the person reconciling answers for the result), else the
  excerpt of the first coder by username; the memos are joined.
* ``keep_both``: nothing changes; the decision hides the passage from the disagreement list
  while its excerpts stay as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coding.agreement.selectors import passage_version
from coding.models import AgreementDecision, Code, Excerpt
from coding.services.excerpts import excerpt_delete, excerpt_update
from observations.models import Document
from research.models import User


class StaleReconcile(Exception):
    """The passage's excerpts changed since the caller saw them; ``current`` is the state now."""

    def __init__(self, current: dict[str, Any]) -> None:
        super().__init__("The passage changed since it was shown.")
        self.current = current


def _row(e: Excerpt) -> dict[str, Any]:
    return {
        "id": e.pk,
        "code": e.code_id,
        "coder": e.coder.username,
        "start": e.start,
        "end": e.end,
        "text": e.text,
        "memo": e.memo,
    }


def passage_state(
    *, document: Document, code: Code, start: int, end: int, coders: Sequence[User] | None
) -> tuple[list[Excerpt], str]:
    """The passage's excerpts now (locked for update inside a transaction) and their version."""
    rows = Excerpt.objects.filter(
        document=document, code=code, start__lt=end, end__gt=start
    ).select_related("coder")
    if coders:
        rows = rows.filter(coder__in=[c.pk for c in coders])
    found = list(rows.select_for_update(of=("self",)).order_by("start", "id"))
    version = passage_version((e.pk, e.coder_id, e.start, e.end) for e in found)
    return found, version


@transaction.atomic
def agreement_reconcile(
    *,
    user: User,
    document: Document,
    code: Code,
    start: int,
    end: int,
    action: str,
    version: str | None = None,
    keep: Excerpt | None = None,
    keep_coder: User | None = None,
    coders: Sequence[User] | None = None,
) -> AgreementDecision:
    """Apply one reconciliation and record it; all or nothing.

    ``keep`` takes exactly one of ``keep`` (an excerpt of the passage) and ``keep_coder`` (one
    of ``coders`` when they are given). Raises `StaleReconcile` when ``version`` differs from
    the passage's current one, and `ValidationError` (naming the field: ``excerpt`` or
    ``coder``) for a passage with nothing to reconcile or a bad choice of what to keep.
    """
    if not 0 <= start < end:
        raise ValidationError({"start": "Need 0 <= start < end."})
    found, current = passage_state(
        document=document, code=code, start=start, end=end, coders=coders
    )
    state = {"version": current, "excerpts": [_row(e) for e in found]}
    if version is not None and version != current:
        raise StaleReconcile(state)
    if not found:
        raise ValidationError({"start": "No excerpt of this code overlaps the passage."})
    before = [_row(e) for e in found]
    kept: list[Excerpt] = list(found)
    if action == AgreementDecision.Action.KEEP:
        winner = _keep_winner(found, keep, keep_coder, coders)
        kept = [e for e in found if e.coder_id == winner]
        for e in found:
            if e.coder_id != winner:
                excerpt_delete(excerpt=e)
    elif action == AgreementDecision.Action.MERGE:
        mine = [e for e in found if e.coder_id == user.pk]
        survivor = (mine or sorted(found, key=lambda e: (e.coder.username, e.start, e.pk)))[0]
        memos = list(dict.fromkeys(e.memo for e in found if e.memo))
        lo, hi = min(e.start for e in found), max(e.end for e in found)
        for e in found:
            if e.pk != survivor.pk:
                excerpt_delete(excerpt=e)
        kept = [excerpt_update(excerpt=survivor, start=lo, end=hi, memo="\n\n".join(memos))]
    elif action != AgreementDecision.Action.KEEP_BOTH:
        raise ValidationError({"action": "Use keep, keep_both or merge."})
    after_version = passage_version((e.pk, e.coder_id, e.start, e.end) for e in kept)
    return AgreementDecision.objects.create(
        project=document.project,
        document=document,
        code=code,
        start=start,
        end=end,
        action=action,
        version=after_version,
        decided_by=user,
        before=before,
        after=[_row(e) for e in kept],
    )


def _keep_winner(
    found: list[Excerpt],
    keep: Excerpt | None,
    keep_coder: User | None,
    coders: Sequence[User] | None,
) -> int:
    """The id of the coder whose version a ``keep`` keeps; `ValidationError` naming the field."""
    if keep is not None and keep_coder is not None:
        raise ValidationError({"coder": "Give either the excerpt or the coder to keep, not both."})
    if keep_coder is not None:
        if coders and keep_coder.pk not in {c.pk for c in coders}:
            raise ValidationError({"coder": "Name one of the compared coders."})
        return keep_coder.pk
    if keep is None or keep.pk not in {e.pk for e in found}:
        raise ValidationError(
            {"excerpt": "Name one of the passage's excerpts to keep, or give the coder instead."}
        )
    return keep.coder_id
