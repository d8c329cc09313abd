"""`manage.py export_qdpx --project SLUG FILE`: the project as REFI-QDA (`--codebook`: `.qdc`)."""

import io
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from coding.refi.export import project_to_qda
from coding.refi.writer import write_codebook_xml, write_qdpx
from research.models import Project

CODEBOOK_LOSS = [
    "A codebook holds only the code tree (names, colours, descriptions with the inclusion and "
    "exclusion notes and example): code memos, archived state and pattern rules stay behind."
]


class Command(BaseCommand):
    help = (
        "Export a project as a REFI-QDA .qdpx (project.qde plus sources/), or with --codebook "
        "its codebook as a .qdc. Lists what REFI-QDA cannot hold."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", metavar="FILE", help="where to write the .qdpx (or .qdc)")
        parser.add_argument("--project", required=True, help="the project's slug")
        parser.add_argument(
            "--codebook", action="store_true", help="write only the codebook, as a .qdc"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        target = Path(options["file"])
        if not target.parent.is_dir():
            raise CommandError(f"No directory {str(target.parent)!r} to write {target.name!r} in.")
        qda = project_to_qda(project)
        if options["codebook"]:
            try:
                body = write_codebook_xml(qda)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
        else:
            buffer = io.BytesIO()
            try:
                write_qdpx(qda, buffer)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            body = buffer.getvalue()
        # Written only once complete, so a failure never leaves half a file behind.
        target.write_bytes(body)
        codes = len(qda.all_codes())
        excerpts = sum(len(sel.codings) for src in qda.sources for sel in src.selections)
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {target} ({len(body)} bytes): {codes} codes"
                + (
                    ""
                    if options["codebook"]
                    else f", {len(qda.sources)} sources, {excerpts} codings, "
                    f"{len(qda.notes)} notes, {len(qda.cases)} cases, {len(qda.users)} users"
                )
                + "."
            )
        )
        lines = CODEBOOK_LOSS if options["codebook"] else qda.not_carried
        if lines:
            self.stdout.write("Not carried over (REFI-QDA has no place for it):")
            for line in lines:
                self.stdout.write(f"  - {line}")
