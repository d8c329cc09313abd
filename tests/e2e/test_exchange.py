"""The REFI-QDA exchange page in a real browser: import a small .qdpx and read the report; a
running import's progress followed until its report appears."""

import io

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from coding.models import Excerpt
from coding.refi.model import QdaUser
from coding.refi.upload import JOB_KIND
from coding.refi.writer import write_qdpx
from research.models import Job
from tests.coding.test_refi_import_api import small_project
from tests.e2e.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("e2e"),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_researcher_imports_a_qdpx_and_reads_the_report(team, live_server, page: Page, login):
    qda = small_project()
    qda.users.append(QdaUser(guid="1A2B3C4D-0000-0000-0000-0000000000FF", name="Idle"))
    archive = io.BytesIO()
    write_qdpx(qda, archive)
    login(page, "researcher1")
    page.goto(live_server.url + reverse("frontend:project-home", args=[team.project.slug]))
    page.get_by_role("link", name="Exchange with other QDA tools").click()
    expect(page.get_by_role("heading", name="Exchange with other QDA tools")).to_be_visible()

    page.get_by_label("REFI-QDA file (.qdpx or .qdc)").set_input_files(
        {"name": "router.qdpx", "mimeType": "application/zip", "buffer": archive.getvalue()}
    )
    page.get_by_role("button", name="Import").click()

    expect(page.get_by_role("heading", name="Imported router.qdpx")).to_be_visible()
    counts = page.locator("#refi-report-counts")
    expect(counts.get_by_role("row", name="Excerpts")).to_contain_text("1")
    expect(counts.get_by_role("row", name="Documents")).to_contain_text("1")
    expect(page.locator("#refi-not-carried")).to_contain_text("1 user(s) of the file did no")
    page.screenshot(path=str(ARTIFACTS / "exchange-report.png"), full_page=True)
    assert Excerpt.objects.get(project=team.project).coder == team.coder


def test_page_follows_a_running_import_until_its_report(team, live_server, page: Page, login):
    job = Job.objects.create(
        kind=JOB_KIND,
        project=team.project,
        created_by=team.researcher,
        status="running",
        progress=0.5,
        message="Importing documents",
        params={"file_name": "big.qdpx"},
    )
    login(page, "researcher1")
    url = reverse("frontend:exchange", args=[team.project.slug])
    page.goto(f"{live_server.url}{url}?job={job.pk}")
    expect(page.locator("#refi-job-text")).to_contain_text("Importing documents (50%)")

    Job.objects.filter(pk=job.pk).update(
        status="succeeded",
        progress=1.0,
        result={
            "file_name": "big.qdpx",
            "created": {"codes": 3},
            "reused": {},
            "not_carried": ["2 Set(s): Verbatim has no sets"],
        },
    )
    expect(page.get_by_role("heading", name="Imported big.qdpx")).to_be_visible()
    expect(page.locator("#refi-not-carried")).to_contain_text("2 Set(s)")
