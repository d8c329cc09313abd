"""A page whose work cannot be queued answers 503 with a page saying so, not a server error."""

from typing import Any

import pytest
from celery import Celery
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from observations.models import Document
from research.models import Job
from research.tasking import QUEUE_UNAVAILABLE
from tests.conftest import client_for
from tests.research.test_tasking import broker_down, silent_port  # noqa: F401 (fixtures)

CALL = "Interviewer: How was setup?\nAnna: Slow.\n"


@pytest.mark.django_db(transaction=True)
def test_import_page_with_the_broker_down_answers_503_in_words(
    team: Any,
    broker_down: Celery,  # noqa: F811
) -> None:
    url = reverse("frontend:import", args=[team.project.slug])
    upload = SimpleUploadedFile("a.txt", CALL.encode(), content_type="text/plain")

    response = client_for(team.researcher).post(url, {"file": [upload]}, HTTP_REFERER=url)

    html = response.content.decode()
    assert response.status_code == 503
    assert QUEUE_UNAVAILABLE.replace("'", "&#x27;") in html
    assert "Background work is unavailable" in html
    assert f'href="{url}"' in html  # back to the page
    # The document was saved (its processing was to be queued on commit); the job says why not.
    assert Document.objects.filter(project=team.project).count() == 1
    assert Job.objects.get(kind="document_process").status == Job.Status.FAILED
