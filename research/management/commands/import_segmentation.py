"""`manage.py import_segmentation`: import a segmentation snapshot from a CSV or XLSX file."""

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from research.models import Project
from research.services_segmentation import segmentation_import


def _types(text: str) -> dict[str, str]:
    types = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        column, sep, kind = pair.partition("=")
        if not sep:
            raise CommandError(f"--types wants column=type pairs, got {pair!r}.")
        types[column.strip()] = kind.strip()
    return types


class Command(BaseCommand):
    help = "Import a customer segmentation snapshot (all-or-nothing) as the next version of NAME."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV (, ; or tab) or XLSX file")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--name", required=True, help="snapshot name")
        parser.add_argument("--customer-column", required=True)
        parser.add_argument("--segment-column", required=True)
        parser.add_argument(
            "--types",
            default="",
            help="overrides, e.g. spend=numeric,joined=date,region=categorical",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {options['project']!r}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        # tqdm redraws with "\r"; Django's OutputWrapper would add a newline to every write.
        bar = tqdm(desc="Writing customers", unit="rows", file=self.stderr._out)
        try:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            segmentation = segmentation_import(
                project=project,
                user=None,
                name=options["name"],
                file_name=path.name,
                data=path.read_bytes(),
                customer_column=options["customer_column"],
                segment_column=options["segment_column"],
                type_overrides=_types(options["types"]) or None,
                progress=progress,
            )
        except ValidationError as exc:
            bar.close()
            lines = [f"Nothing was imported. {'; '.join(exc.messages)}"]
            for row in getattr(exc, "errors", []):
                where = ", ".join(
                    f"{key} {row[key]}" for key in ("row", "column") if row.get(key) is not None
                )
                lines.append(f"  {where}: {row['message']}" if where else f"  {row['message']}")
            raise CommandError("\n".join(lines)) from exc
        bar.close()
        types = ", ".join(f"{k} ({v})" for k, v in segmentation.metric_types.items()) or "none"
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {segmentation.name!r} version {segmentation.version}: "
                f"{segmentation.customer_count} customers in {segmentation.segments.count()} "
                f"segments; metrics: {types}."
            )
        )
