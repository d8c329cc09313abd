"""`manage.py import_qdpx`: import a REFI-QDA project (.qdpx) or codebook (.qdc), all or nothing."""

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from coding.refi.importer import ImportReport, import_qda
from coding.refi.upload import EXTENSIONS, check_upload, read_file
from research.commands import command_importer
from research.models import Project


class Command(BaseCommand):
    help = (
        "Import a REFI-QDA project (.qdpx: codes, sources, codings, notes, cases) or codebook "
        "(.qdc) into a project, then print what was created, reused and not carried over. "
        "Nothing is imported when the file cannot be read."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="a .qdpx or .qdc file")
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument(
            "--user", help="the importing member (default: the project's first owner)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        user = command_importer(project, options["user"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        if not path.name.lower().endswith(EXTENSIONS):
            raise CommandError(f"{path}: not a .qdpx or .qdc file.")
        # tqdm redraws with "\r"; Django's OutputWrapper would add a newline to every write.
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(total=100, desc=f"Reading {path.name}", unit="%", file=stream)

        def progress(done: float, message: str) -> None:
            bar.set_description(message)
            bar.update(round(done * 100) - bar.n)

        try:
            with path.open("rb") as handle:
                check_upload(path.name, path.stat().st_size, handle)
            qda = read_file(path.name, path)
            report = import_qda(project, qda, user=user, progress=progress, source_name=path.name)
            progress(1.0, "Imported")
        except ValidationError as exc:
            raise CommandError("Nothing was imported: " + " ".join(exc.messages)) from exc
        finally:
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"Imported {path.name} into {project.slug}."))
        self.stdout.write(summary(report))


def summary(report: ImportReport) -> str:
    """The report as lines a person reads in a terminal."""
    lines = ["Created: " + ", ".join(f"{n} {kind}" for kind, n in report.created.items())]
    lines.append("Reused: " + ", ".join(f"{n} {kind}" for kind, n in report.reused.items()))
    if report.reused_codes:
        lines.append("Codes already in the codebook: " + ", ".join(report.reused_codes))
    if report.placeholder_users:
        lines.append(
            "Inactive placeholder accounts created for unknown coders: "
            + ", ".join(report.placeholder_users)
        )
    if report.added_members:
        lines.append("Added to the project as coders: " + ", ".join(report.added_members))
    if report.not_carried:
        lines.append("Not carried over:")
        lines += [f"  - {line}" for line in report.not_carried]
    return "\n".join(lines)
