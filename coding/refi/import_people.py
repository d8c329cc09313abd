"""Who did the work in an imported project, and whom it was about: REFI-QDA users and cases.

Users are matched to accounts of this Verbatim instance (the `id` Verbatim's export writes is the
username; other tools write a display name); anyone not found becomes an inactive placeholder
account with no usable password, so coders keep their own excerpts and an administrator can
later merge or activate the account. Both kinds join the project as coders when they are not
members yet, because every excerpt's coder is a member. Cases with a name become participants.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from coding.refi.export_cases import (
    ATTRIBUTE_SUFFIX,
    CUSTOMER_REF_VARIABLE,
    KIND_VARIABLE,
    SEGMENT_PREFIX,
    SESSION_VARIABLE,
)
from coding.refi.model import QdaCase, QdaProject, QdaUser, VariableValue, guid
from research.models import Participant, Project, User
from research.roles import Role
from research.services import membership_create, participant_create, participant_update

PSEUDONYM_MAX = 64
_USERNAME_BAD = re.compile(r"[^\w.@+-]+")


def json_value(value: VariableValue) -> Any:
    """A variable's value as JSON can hold it (dates as ISO text)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def variable_names(qda: QdaProject) -> dict[str, str]:
    """Variable guid -> its name."""
    return {guid(variable.guid): variable.name.strip() for variable in qda.variables}


@dataclass
class PeopleReport:
    """What happened to the file's users and cases."""

    matched: list[str] = field(default_factory=list)  # usernames of existing accounts
    placeholders: list[str] = field(default_factory=list)  # usernames of created accounts
    added_members: list[str] = field(default_factory=list)  # usernames that joined as coders
    participants_created: list[str] = field(default_factory=list)
    participants_reused: list[str] = field(default_factory=list)


class Users:
    """REFI-QDA users resolved to accounts on first use, so a user who did nothing in the file
    gets no account and no membership."""

    def __init__(self, project: Project, qda: QdaProject, importer: User, report: PeopleReport):
        self.project = project
        self.importer = importer
        self.report = report
        self.by_guid = {guid(user.guid): user for user in qda.users}
        self.resolved: dict[str, User] = {}
        self.members = set(project.memberships.values_list("user_id", flat=True))

    def get(self, *guids: str) -> User:
        """The account of the first of `guids` the file names as a user; the importing user
        when none does (the work then counts as theirs)."""
        for value in guids:
            key = guid(value) if value else ""
            if key in self.by_guid:
                return self._resolve(key)
        return self.importer

    def unused(self) -> int:
        """How many of the file's users did no work that was imported."""
        return len(self.by_guid) - len(self.resolved)

    def _resolve(self, key: str) -> User:
        if key not in self.resolved:
            qda_user = self.by_guid[key]
            user = _match(qda_user)
            if user is None:
                user = _placeholder(qda_user)
                self.report.placeholders.append(user.username)
            else:
                self.report.matched.append(user.username)
            if user.pk not in self.members:
                membership_create(project=self.project, username=user.username, role=Role.CODER)
                self.members.add(user.pk)
                self.report.added_members.append(user.username)
            self.resolved[key] = user
        return self.resolved[key]


def _match(qda_user: QdaUser) -> User | None:
    """An existing account: `id` equal to a username, else `name` equal to a username, else
    `name` equal to exactly one account's display name."""
    for value in (qda_user.id.strip(), qda_user.name.strip()):
        if value:
            found = User.objects.filter(username=value).first()
            if found is not None:
                return found
    name = qda_user.name.strip()
    if name:
        same = list(User.objects.filter(display_name=name)[:2])
        if len(same) == 1:
            return same[0]
    return None


def _placeholder(qda_user: QdaUser) -> User:
    """An inactive account with no usable password and a unique username made from the name."""
    label = qda_user.name.strip() or qda_user.id.strip()
    base = _USERNAME_BAD.sub(".", label.lower()).strip(".")[:140] or "imported.user"
    username, number = base, 1
    while User.objects.filter(username__iexact=username).exists():
        number += 1
        username = f"{base}-{number}"
    user = User(username=username, display_name=label[:150], is_active=False)
    user.set_unusable_password()
    user.save()
    return user


@dataclass
class CaseOutcome:
    """Participants by case guid; source guid -> participant; lines for the report."""

    participants: dict[str, Participant] = field(default_factory=dict)
    source_participant: dict[str, Participant] = field(default_factory=dict)
    not_carried: list[str] = field(default_factory=list)


def import_cases(project: Project, qda: QdaProject, report: PeopleReport) -> CaseOutcome:
    """Each named case becomes a participant (an existing pseudonym is reused: attributes it
    lacks are added, values it has are kept); its SourceRefs set those documents' participant.
    Nameless cases are left to the caller (they carry document variables)."""
    names = variable_names(qda)
    outcome = CaseOutcome()
    existing = {p.pseudonym.casefold(): p for p in project.participants.all()}
    segments: set[str] = set()
    described = 0
    for case in qda.cases:
        pseudonym = case.name.strip()[:PSEUDONYM_MAX]
        if not pseudonym:
            continue
        described += bool(case.description.strip())
        customer_ref, attributes = _attributes(case, names, segments)
        participant = existing.get(pseudonym.casefold())
        if participant is None:
            participant = participant_create(
                project=project,
                pseudonym=pseudonym,
                customer_ref=customer_ref,
                attributes=attributes,
            )
            existing[pseudonym.casefold()] = participant
            report.participants_created.append(pseudonym)
        else:
            participant = _merge(participant, customer_ref, attributes, outcome.not_carried)
            if pseudonym not in report.participants_reused:
                report.participants_reused.append(pseudonym)
        outcome.participants[guid(case.guid)] = participant
        for source_guid in case.source_guids:
            key = guid(source_guid)
            other = outcome.source_participant.setdefault(key, participant)
            if other != participant:
                outcome.not_carried.append(
                    f"Case {pseudonym!r} also refers to a source that already belongs to "
                    f"{other.pseudonym!r}: a Verbatim document has one participant."
                )
        if case.selection_guids or case.code_guids:
            outcome.not_carried.append(
                f"Case {pseudonym!r}: links to {len(case.selection_guids)} selection(s) and "
                f"{len(case.code_guids)} code(s) not carried (participants link to documents)."
            )
    if segments:
        outcome.not_carried.append(
            f"Segment membership of participants ({', '.join(sorted(segments))}): not carried; "
            "segments come from a segmentation import, matched by customer_ref."
        )
    if described:
        outcome.not_carried.append(
            f"Descriptions of {described} case(s): a participant has no description."
        )
    return outcome


def _attribute_name(name: str) -> str:
    """Undo the export's renaming of an attribute that clashed with a reserved variable name."""
    base = name.removesuffix(ATTRIBUTE_SUFFIX)
    reserved = {CUSTOMER_REF_VARIABLE, KIND_VARIABLE, SESSION_VARIABLE}
    if base != name and (base in reserved or base.startswith(SEGMENT_PREFIX)):
        return base
    return name


def _attributes(
    case: QdaCase, names: dict[str, str], segments: set[str]
) -> tuple[str, dict[str, Any]]:
    """The case's customer_ref and attributes; segment variables' names go to `segments`."""
    customer_ref = ""
    attributes: dict[str, Any] = {}
    for key, value in case.variables.items():
        name = names.get(guid(key), key)
        if name.casefold() == CUSTOMER_REF_VARIABLE:
            customer_ref = "" if value is None else str(value).strip()
        elif name.startswith(SEGMENT_PREFIX):
            segments.add(name.removeprefix(SEGMENT_PREFIX))
        else:
            attributes[_attribute_name(name)] = json_value(value)
    return customer_ref, attributes


def _merge(
    participant: Participant, customer_ref: str, attributes: dict[str, Any], lines: list[str]
) -> Participant:
    """Add what the participant lacks; where both have a value, keep Verbatim's and say so."""
    changes: dict[str, Any] = {}
    added = {k: v for k, v in attributes.items() if k not in participant.attributes}
    for key, value in attributes.items():
        kept = participant.attributes.get(key, value)
        if key in participant.attributes and kept != value:
            lines.append(
                f"Participant {participant.pseudonym!r}: attribute {key!r} kept as {kept!r}; "
                f"the file has {value!r}."
            )
    if added:
        changes["attributes"] = {**participant.attributes, **added}
    if customer_ref and not participant.customer_ref:
        changes["customer_ref"] = customer_ref
    elif customer_ref and customer_ref != participant.customer_ref:
        lines.append(
            f"Participant {participant.pseudonym!r}: customer_ref kept as "
            f"{participant.customer_ref!r}; the file has {customer_ref!r}."
        )
    return participant_update(participant=participant, **changes) if changes else participant
