"""Seed the load test's database: the demo study plus N coders, each with a token and a session.

The coders are members with the researcher role: the mix includes exports, which the coder role
may not make (ARCHITECTURE.md, "Who uses it"); for reads and excerpt writes the two roles take
the same path.

Run with the load test's environment (DATABASE_URL etc.) after `migrate`; writes a JSON file the
locustfile reads: the project slug, its documents (id, length), codes, segmentation, and per coder
a token and a session cookie. Sessions are made server-side (`Client.force_login`) so the load test
never goes through the login form, whose throttling is not what is measured here.
"""

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from coding.management.commands import _demo_data  # noqa: E402
from coding.models import Excerpt  # noqa: E402
from research.models import Membership, Project, User  # noqa: E402
from research.roles import Role  # noqa: E402
from research.services import membership_create  # noqa: E402

CODER_PREFIX = "load-coder-"


def seed(*, coders: int) -> dict[str, Any]:
    """Load the demo (idempotent), add `coders` coder members with tokens and sessions.

    Returns the fixture the locustfile reads; `excerpts` is the project's excerpt count now.
    """
    call_command("load_demo", verbosity=0)
    project = Project.objects.get(slug=_demo_data.SLUG)
    users = []
    for number in range(1, coders + 1):
        user, _ = User.objects.get_or_create(
            username=f"{CODER_PREFIX}{number:02d}",
            defaults={"email": f"{CODER_PREFIX}{number:02d}@load.verbatim.invalid"},
        )
        if not Membership.objects.filter(project=project, user=user).exists():
            membership_create(project=project, username=user.username, role=Role.RESEARCHER)
        token, _ = Token.objects.get_or_create(user=user)
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        users.append({"username": user.username, "token": token.key, "session": session})
    documents = [
        {"id": doc.pk, "length": len(doc.text)}
        for doc in project.documents.filter(status="ready").order_by("pk")
        if len(doc.text) > 80
    ]
    segmentation = project.segmentations.order_by("-pk").first()
    return {
        "slug": project.slug,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "documents": documents,
        "codes": list(project.codes.order_by("pk").values_list("pk", flat=True)),
        "segmentation": segmentation.pk if segmentation is not None else None,
        "users": users,
        "excerpts": excerpt_count(project.slug),
    }


def excerpt_count(slug: str) -> int:
    """The project's excerpts as the database holds them now."""
    return Excerpt.objects.filter(project__slug=slug).count()


def excerpt_census(slug: str) -> dict[str, Any]:
    """The project's excerpt count and the ids of those the load's coders made."""
    mine = Excerpt.objects.filter(project__slug=slug, coder__username__startswith=CODER_PREFIX)
    return {"count": excerpt_count(slug), "load_ids": sorted(mine.values_list("pk", flat=True))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--coders", type=int, default=20)
    parser.add_argument("--out", type=Path, help="write the fixture JSON here")
    parser.add_argument(
        "--count", metavar="SLUG", help="only print SLUG's excerpt count and load ids (JSON)"
    )
    args = parser.parse_args()
    if args.count:
        print(json.dumps(excerpt_census(args.count)))
        return
    fixture = seed(coders=args.coders)
    args.out.write_text(json.dumps(fixture, indent=1))
    print(
        f"seeded {fixture['slug']}: {len(fixture['documents'])} documents, "
        f"{len(fixture['codes'])} codes, {fixture['excerpts']} excerpts, "
        f"{len(fixture['users'])} coders"
    )


if __name__ == "__main__":
    main()
