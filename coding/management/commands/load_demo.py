"""`manage.py load_demo`: a small, believable CX study to click through, with one login per role.

The study itself (people, fieldwork, transcripts, codebook, excerpts) lives in `_demo_data`; this
module turns it into rows through the services, in one transaction, and prints the logins.
Running it again changes nothing but the demo users' passwords; `--reset` rebuilds the project.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from coding.management.commands import _demo_data as data
from coding.management.commands import _demo_survey as survey
from coding.management.commands._demo_hypotheses import add_hypotheses
from coding.models import Code, Excerpt
from coding.services import code_create, excerpt_create, memo_create
from observations.models import Document, FieldNote, ObservationSession
from observations.services import TurnInput, document_create, note_create, session_create
from research.models import Participant, Project
from research.services import membership_create, participant_create, project_create, project_delete

User = get_user_model()

URL = "http://127.0.0.1:8000/"
# Demo users carry this e-mail domain (reserved, never deliverable); a user without it is a real
# account that load_demo must not touch. The project carries MARKER in its description.
DEMO_EMAIL_DOMAIN = "demo.verbatim.invalid"
MARKER = "Demo study created by `manage.py load_demo`."
WORDS_PER_MINUTE = 160
PAUSE_MS = 700


def is_demo_user(user: Any) -> bool:
    return user.email.endswith(f"@{DEMO_EMAIL_DOMAIN}")


def is_demo_project(project: Project) -> bool:
    creator = project.created_by
    return MARKER in project.description and creator is not None and is_demo_user(creator)


class Command(BaseCommand):
    help = "Load the Northwind Mobile demo study and one demo user per role; print their logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=data.DEFAULT_PASSWORD,
            help=f"Password for every demo user (default {data.DEFAULT_PASSWORD!r}).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo project (with the demo users' memberships) and rebuild it.",
        )

    def handle(self, *args: Any, password: str, reset: bool, **options: Any) -> None:
        if not password:
            raise CommandError("--password must not be empty.")
        try:
            with transaction.atomic():  # processing jobs run at commit, after this block
                project = self._load(password=password, reset=reset)
        except ValidationError as exc:
            raise CommandError(f"Demo data rejected: {'; '.join(exc.messages)}") from exc
        if project is not None:
            self._report(project)
        self._print_logins(password)

    def _load(self, *, password: str, reset: bool) -> Project | None:
        """Build the study; return it, or None when it was already there."""
        existing = Project.objects.filter(slug=data.SLUG).first()
        if existing is not None and not is_demo_project(existing):
            raise CommandError(
                f"A project with slug {data.SLUG!r} exists but was not created by load_demo; "
                "leaving it alone. Rename its slug or use another database."
            )
        users = self._users(password)
        if existing is not None and not reset:
            self.stdout.write(f"The demo study {existing.name!r} ({data.SLUG}) is already loaded.")
            return None
        if existing is not None:
            project_delete(project=existing)
            self.stdout.write(f"Deleted the demo study {data.SLUG!r}; rebuilding it.")
        return build_study(users, log=self.stdout.write)

    def _users(self, password: str) -> dict[str, Any]:
        users = {}
        for username, _role, display_name in data.USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(
                    username=username,
                    email=f"{username}@{DEMO_EMAIL_DOMAIN}",
                    display_name=display_name,
                )
            elif not is_demo_user(user):
                raise CommandError(
                    f"User {username!r} already exists and is not a demo user; "
                    "load_demo will not change it. Use another database."
                )
            user.set_password(password)
            user.save(update_fields=["password"])
            users[username] = user
        return users

    def _report(self, project: Project) -> None:
        documents = Document.objects.filter(project=project)
        ready = documents.filter(status=Document.Status.READY).count()
        excerpts = Excerpt.objects.filter(project=project)
        coders = excerpts.order_by().values("coder").distinct().count()
        self.stdout.write(
            f"Loaded {project.name!r}: {project.participants.count()} participants, "
            f"{project.sessions.count()} observation session with "
            f"{FieldNote.objects.filter(session__project=project).count()} field notes, "
            f"{documents.count()} documents ({ready} ready), "
            f"{Code.objects.filter(project=project).count()} codes, "
            f"{excerpts.count()} excerpts by {coders} coders, "
            f"{project.memos.count()} memos."
        )

    def _print_logins(self, password: str) -> None:
        width = max(len(username) for username, _role, _name in data.USERS) + 2
        lines = [
            "",
            "=" * 60,
            f"Verbatim demo: run `python manage.py runserver`, open {URL}",
            f"Study: {data.NAME} ({data.SLUG})",
            "",
            f"  {'username'.ljust(width)}{'password'.ljust(len(password) + 2)}role",
        ]
        for username, role, _name in data.USERS:
            lines.append(f"  {username.ljust(width)}{password.ljust(len(password) + 2)}{role}")
        lines += ["", "Demo logins only: never use these passwords on a shared server.", "=" * 60]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))


def build_study(users: dict[str, Any], *, log: Callable[[str], Any]) -> Project:
    """Create the whole study through the services. Call inside a transaction."""
    project = project_create(
        creator=users["owner"],
        slug=data.SLUG,
        name=data.NAME,
        description=f"{data.DESCRIPTION}\n\n{MARKER}",
    )
    for username, role, _name in data.USERS:
        if username != "owner":
            membership_create(project=project, username=username, role=role)
    participants = {
        spec["pseudonym"]: participant_create(project=project, **spec) for spec in data.PARTICIPANTS
    }
    log(f"  {len(users)} users, {len(participants)} participants")
    documents = {"notes": _fieldwork(project, users["researcher"], participants)}
    for spec in data.TRANSCRIPTS:
        documents[spec["key"]] = _transcript(project, users["researcher"], participants, spec)
    log(f"  {len(documents)} documents")
    codes = _codebook(project, users["researcher"])
    excerpts = {}
    for key in data.EXCERPTS:
        doc_key, coder, code_name, phrase = key
        document = documents[doc_key]
        start = find_phrase(document, phrase)
        excerpts[key] = excerpt_create(
            document=document,
            code=codes[code_name],
            start=start,
            end=start + len(phrase),
            coder=users[coder],
            text=phrase,
        )
    log(f"  {len(codes)} codes, {len(excerpts)} excerpts")
    answers = _survey(project, users, codes)
    log(f"  survey: {answers} answers from as many participants")
    for memo in data.MEMOS:
        links: dict[str, Any] = {}
        if "code" in memo:
            links["code"] = codes[memo["code"]]
        if "document" in memo:
            links["document"] = documents[memo["document"]]
        if "excerpt" in memo:
            links["excerpt"] = excerpts[memo["excerpt"]]
        memo_create(
            project=project,
            author=users[memo["author"]],
            title=memo["title"],
            text=memo["text"],
            **links,
        )
    _segmentation(project, users["researcher"], log)
    added = add_hypotheses(project, users["researcher"])
    log(f"  {added} hypotheses")
    return project


def _segmentation(project: Project, importer: Any, log: Callable[[str], Any]) -> None:
    from coding.management.commands import _demo_segments as segments
    from research.services_segmentation import segmentation_import

    snapshot = segmentation_import(
        project=project,
        user=importer,
        name=segments.NAME,
        file_name=segments.FILE_NAME,
        data=segments.csv_bytes(),
        customer_column="customer_ref",
        segment_column="segment",
    )
    log(f"  segmentation {snapshot.name!r}: {snapshot.customer_count} customers")


def _survey(project: Project, users: dict[str, Any], codes: dict[str, Code]) -> int:
    """The open survey: a participant per respondent, their answer as one `survey` document (as
    the survey importer stores it: the answer alone, no turns) and its excerpts. Returns the
    number of answers."""
    for spec in survey.RESPONDENTS:
        participant = participant_create(
            project=project,
            pseudonym=spec["pseudonym"],
            customer_ref=spec["customer_ref"],
            attributes=spec["attributes"],
            consent=spec["consent"],
        )
        document, _job = document_create(
            project=project,
            creator=users["researcher"],
            title=f"{survey.TITLE} — {spec['pseudonym']}",
            text=spec["answer"],
            kind=Document.Kind.SURVEY,
            participant=participant,
            source_name=survey.SOURCE_NAME,
            recorded_at=datetime.combine(date.fromisoformat(spec["answered"]), time(9), UTC),
        )
        for coder, code_name, phrase in spec["excerpts"]:
            start = find_phrase(document, phrase)
            excerpt_create(
                document=document,
                code=codes[code_name],
                start=start,
                end=start + len(phrase),
                coder=users[coder],
                text=phrase,
            )
    return len(survey.RESPONDENTS)


def find_phrase(document: Document, phrase: str) -> int:
    """Offset of `phrase` in the document's stored text; it must occur exactly once."""
    count = document.text.count(phrase)
    if count != 1:
        where = "not found" if count == 0 else f"found {count} times"
        raise CommandError(f"Demo phrase {where} in {document.title!r}: {phrase!r}")
    return document.text.index(phrase)


def _at(clock: str) -> datetime:
    """A time on the session's day (UTC: the UK is on GMT in February)."""
    day = date.fromisoformat(data.SESSION["date"])
    return datetime.combine(day, time.fromisoformat(clock), UTC)


def _fieldwork(project: Project, observer: Any, participants: dict[str, Participant]) -> Document:
    """The store session, its field notes, and the notes as one codable document."""
    spec = data.SESSION
    session: ObservationSession = session_create(
        project=project,
        title=spec["title"],
        started_at=_at(spec["started_at"]),
        ended_at=_at(spec["ended_at"]),
        observer=observer,
        participants=[participants[p] for p in spec["participants"]],
        site=spec["site"],
        channel=spec["channel"],
        journey_stage=spec["journey_stage"],
        context=spec["context"],
        goals=spec["goals"],
    )
    for clock, kind, pseudonym, text in data.NOTES:
        note_create(
            session=session,
            author=observer,
            observed_at=_at(clock),
            text=text,
            kind=kind,
            participant=participants[pseudonym] if pseudonym else None,
        )
    # The notes build the session's one field-notes document as they are added.
    document: Document = session.documents.get(kind=Document.Kind.FIELD_NOTES)
    return document


def _transcript(
    project: Project, interviewer: Any, participants: dict[str, Participant], spec: dict[str, Any]
) -> Document:
    """One interview: 'Speaker: words' per line, a turn per line with timings from word counts."""
    text: str = spec["text"]
    participant = participants[spec["participant"]]
    turns, offset, clock_ms = [], 0, 0
    for line in text.splitlines(keepends=True):
        speaker, sep, words = line.rstrip("\n").partition(": ")
        if not sep or speaker not in (spec["participant"], spec["interviewer"]):
            raise CommandError(f"Bad turn in {spec['title']!r}: {line!r}")
        duration_ms = len(words.split()) * 60_000 // WORDS_PER_MINUTE
        turns.append(
            # Like the importers: the turn is the spoken words, not the "Name: " label.
            TurnInput(
                start=offset + len(speaker) + len(sep),
                end=offset + len(line.rstrip("\n")),
                speaker=speaker,
                participant=participant if speaker == spec["participant"] else None,
                interviewer=interviewer if speaker == spec["interviewer"] else None,
                started_at_ms=clock_ms,
                ended_at_ms=clock_ms + duration_ms,
            )
        )
        offset += len(line)
        clock_ms += duration_ms + PAUSE_MS
    document, _job = document_create(
        project=project,
        creator=interviewer,
        title=spec["title"],
        text=text,
        kind=Document.Kind.TRANSCRIPT,
        participant=participant,
        turns=turns,
        source_name=spec["source_name"],
        recorded_at=datetime.fromisoformat(spec["recorded_at"]),
    )
    return document


def _codebook(project: Project, creator: Any) -> dict[str, Code]:
    """Themes and their child codes, keyed by name (names are unique across the demo codebook)."""
    codes: dict[str, Code] = {}
    for position, theme in enumerate(data.CODEBOOK):
        children = theme.get("children", [])
        fields = {k: v for k, v in theme.items() if k != "children"}
        parent = code_create(project=project, creator=creator, position=position, **fields)
        codes[parent.name] = parent
        for child_position, child in enumerate(children):
            code = code_create(
                project=project, creator=creator, parent=parent, position=child_position, **child
            )
            codes[code.name] = code
    return codes
