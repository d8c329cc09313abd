"""Who each transcript speaker is: a participant, an interviewer (a project member), or nobody.

Analyses count the customer's words only, so every turn of an import is tied to one of these.
Defaults follow the labels people actually use; an explicit choice always wins.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from research.models import Participant, Project, User

# Speaker labels that name the person asking the questions rather than the customer.
INTERVIEWER_LABEL = re.compile(
    r"^(interviewer|moderator|researcher|facilitator|host)\b[\s\d#.:-]*$", re.IGNORECASE
)


@dataclass(frozen=True)
class SpeakerTarget:
    """Who a speaker is: a participant (existing, or found/created by pseudonym), an interviewer
    (a project member), or nobody (all fields empty: the speaker stays unmapped)."""

    participant: Participant | None = None
    pseudonym: str | None = None
    interviewer: User | None = None

    @property
    def label(self) -> str:
        if self.participant is not None:
            return f"participant {self.participant.pseudonym}"
        if self.pseudonym:
            return f"participant {self.pseudonym}"
        if self.interviewer is not None:
            return f"interviewer {self.interviewer.username}"
        return "unmapped"


UNMAPPED = SpeakerTarget()

# Keyed by speaker name (every file), or by file name then speaker name (that file only).
SpeakerMap = Mapping[str, SpeakerTarget]
FileSpeakerMaps = Mapping[str, SpeakerMap]


def _members(project: Project) -> list[User]:
    return list(User.objects.filter(memberships__project=project).order_by("username"))


def _member_names(user: User) -> set[str]:
    names = {user.username, user.display_name, user.first_name, user.get_full_name()}
    return {name.strip().casefold() for name in names if name and name.strip()}


def default_speaker_map(
    *,
    project: Project,
    user: User,
    speakers: Iterable[str],
    participant: Participant | None = None,
    given: SpeakerMap | None = None,
) -> dict[str, SpeakerTarget]:
    """Each speaker's target: `given` first; then a member's username/display/first name -> that
    member; Interviewer/Moderator/Researcher/Facilitator -> `user`; a participant's pseudonym ->
    that participant; and if exactly one speaker is left and `participant` is given, them."""
    given = given or {}
    members = _members(project)
    pseudonyms = {p.pseudonym.casefold(): p for p in project.participants.all()}
    result: dict[str, SpeakerTarget] = {}
    left = []
    for speaker in speakers:
        key = speaker.strip().casefold()
        member = next((m for m in members if key in _member_names(m)), None)
        if speaker in given:
            result[speaker] = given[speaker]
        elif member is not None:
            result[speaker] = SpeakerTarget(interviewer=member)
        elif INTERVIEWER_LABEL.match(speaker.strip()):
            result[speaker] = SpeakerTarget(interviewer=user)
        elif key in pseudonyms:
            result[speaker] = SpeakerTarget(participant=pseudonyms[key])
        else:
            result[speaker] = UNMAPPED
            left.append(speaker)
    if participant is not None and len(left) == 1:
        result[left[0]] = SpeakerTarget(participant=participant)
    return result


TARGET_KEYS = frozenset({"participant", "pseudonym", "interviewer"})


def speaker_target(
    *,
    project: Project,
    participant: object = None,
    pseudonym: str | None = None,
    interviewer: str | None = None,
) -> SpeakerTarget:
    """A target from what a person chose: a participant id of this project, a pseudonym (found
    or created at import), or a member's username; none of them means unmapped."""
    if participant not in (None, ""):
        found = project.participants.filter(pk=_int(participant)).first()
        if found is None:
            raise ValidationError({"speakers": f"No participant {participant} in this project."})
        return SpeakerTarget(participant=found)
    if pseudonym and pseudonym.strip():
        return SpeakerTarget(pseudonym=pseudonym.strip()[:64])
    if interviewer:
        member = User.objects.filter(memberships__project=project, username=interviewer).first()
        if member is None:
            raise ValidationError({"speakers": f"{interviewer} is not a member of this project."})
        return SpeakerTarget(interviewer=member)
    return UNMAPPED


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1


def speaker_maps_from_json(
    *, project: Project, raw: object
) -> tuple[dict[str, SpeakerTarget], dict[str, dict[str, SpeakerTarget]]]:
    """Read the API's `speakers` object: `{speaker: target}` for every file, or
    `{file name: {speaker: target}}` for one file; a target is `{"participant": id}`,
    `{"pseudonym": "P09"}`, `{"interviewer": "username"}`, or `{}`/null for unmapped."""
    if raw in (None, ""):
        return {}, {}
    if not isinstance(raw, dict):
        raise ValidationError({"speakers": "Send a JSON object of speaker -> target."})
    every: dict[str, SpeakerTarget] = {}
    per_file: dict[str, dict[str, SpeakerTarget]] = {}
    for key, value in raw.items():
        if value is None or (isinstance(value, dict) and set(value) <= TARGET_KEYS):
            every[str(key)] = speaker_target(project=project, **(value or {}))
        elif isinstance(value, dict) and all(isinstance(v, dict | None) for v in value.values()):
            per_file[str(key)] = speaker_maps_from_json(project=project, raw=value)[0]
        else:
            message = f"{key}: use participant, pseudonym or interviewer."
            raise ValidationError({"speakers": message})
    return every, per_file
