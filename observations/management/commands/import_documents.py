"""`manage.py import_documents`: import transcript and survey files, all or nothing."""

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from observations.importers import SUPPORTED_EXTENSIONS
from observations.importers.base import ParseOptions
from observations.services.imports import (
    ImportResult,
    ImportValidationError,
    UploadedFileLike,
    documents_import,
)
from research.commands import command_importer
from research.models import Participant, Project, User


class Command(BaseCommand):
    help = (
        "Import transcripts (txt, docx, odt, vtt, srt) or a survey (csv, xlsx) into a project. "
        "A directory imports the supported files inside it. One bad file means nothing is created."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument(
            "--user", help="the importing member (default: the project's first owner)"
        )
        parser.add_argument(
            "--participant", help="pseudonym of the participant the transcripts are about"
        )
        parser.add_argument("--text-columns", default="", help="survey: comma-separated columns")
        parser.add_argument("--respondent-column", help="survey: the respondent's pseudonym column")
        parser.add_argument("--customer-ref-column", help="survey: the customer ref column")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        user = command_importer(project, options["user"])
        participant = None
        if options["participant"]:
            participant = project.participants.filter(pseudonym=options["participant"]).first()
            if participant is None:
                raise CommandError(f"No participant {options['participant']!r} in {project.slug}.")
        files = [_read(path) for path in _expand(options["paths"])]
        parse_options = ParseOptions(
            text_columns=tuple(c.strip() for c in options["text_columns"].split(",") if c.strip()),
            respondent_column=options["respondent_column"] or None,
            customer_ref_column=options["customer_ref_column"] or None,
        )
        result = self._run(project, user, files, parse_options, participant)
        self.stdout.write(self.style.SUCCESS(_summary(result, project)))

    def _run(
        self,
        project: Project,
        user: User,
        files: list[UploadedFileLike],
        options: ParseOptions,
        participant: Participant | None,
    ) -> ImportResult:
        bars: dict[str, tqdm[Any]] = {}
        # tqdm redraws with "\r"; Django's OutputWrapper would add a newline to every write.
        stream = getattr(self.stderr, "_out", sys.stderr)

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                label = "Reading files" if stage == "parse" else "Creating documents"
                unit = "file" if stage == "parse" else "doc"
                bars[stage] = tqdm(total=total, desc=label, unit=unit, file=stream)
            bars[stage].update(done - bars[stage].n)
            if done == total:
                bars[stage].close()

        try:
            return documents_import(
                project=project,
                user=user,
                files=files,
                options=options,
                participant=participant,
                progress=progress,
            )
        except ImportValidationError as exc:
            problems = "\n".join(f"  {message}" for message in exc.messages)
            raise CommandError(f"Nothing was imported. Fix these problems:\n{problems}") from exc
        except ValidationError as exc:
            raise CommandError("Nothing was imported: " + " ".join(exc.messages)) from exc
        finally:
            for bar in bars.values():
                bar.close()


def _expand(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in SUPPORTED_EXTENSIONS
            )
            if not inside:
                supported = ", ".join(SUPPORTED_EXTENSIONS)
                raise CommandError(f"{path}: no files to import here (supported: {supported}).")
            found += inside
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{path}: no such file or directory.")
    return found


def _read(path: Path) -> UploadedFileLike:
    try:
        return UploadedFileLike(name=path.name, data=path.read_bytes())
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the file ({exc.strerror}).") from exc


def _summary(result: ImportResult, project: Project) -> str:
    lines = [
        f"Imported {len(result.documents)} document(s) into {project.slug}: "
        f"{result.turn_count} speaker turns.",
        f"Speakers mapped: {result.speakers_mapped}; left unmapped: {result.speakers_unmapped}; "
        f"participants created: {result.participants_created}.",
    ]
    if result.speakers_unmapped:
        lines.append(
            "Unmapped speakers' words are not counted as the customer's: pass --participant, "
            "or map them on the import page or through the API's `speakers`."
        )
    lines += [f"  #{doc.pk} {doc.title} ({doc.source_name})" for doc in result.documents]
    return "\n".join(lines)
