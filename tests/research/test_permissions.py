"""The access layer: one 404 for missing and forbidden, 403 only for members lacking a right."""

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from research.models import Job
from research.permissions import access_job, access_object, access_own_work, access_project
from research.roles import Capability, Role
from tests.factories import DocumentFactory


def test_access_project_returns_project_and_role_when_member(team):
    access = access_project(team.coder, team.project.slug)
    assert access.project == team.project
    assert access.role is Role.CODER


def test_access_project_gives_same_404_when_missing_or_not_member(team):
    with pytest.raises(Http404) as missing:
        access_project(team.owner, "no-such-project")
    with pytest.raises(Http404) as forbidden:
        access_project(team.outsider, team.project.slug)
    assert str(missing.value) == str(forbidden.value)


def test_access_project_gives_404_when_anonymous(team):
    with pytest.raises(Http404):
        access_project(AnonymousUser(), team.project.slug)


def test_access_project_gives_403_when_role_lacks_capability(team):
    with pytest.raises(PermissionDenied):
        access_project(team.manager, team.project.slug, need=Capability.CODE)
    assert access_project(team.coder, team.project.slug, need=Capability.CODE)


def test_access_object_gives_404_when_object_is_in_another_project(team):
    mine = DocumentFactory.create(project=team.project)
    theirs = DocumentFactory.create(project=team.other_project)
    assert access_object(team.project.documents.all(), mine.pk) == mine
    with pytest.raises(Http404):
        access_object(team.project.documents.all(), theirs.pk)


@pytest.mark.parametrize("bad_id", ["abc", "", "1.5", None, "9" * 30])
def test_access_object_gives_404_when_id_is_malformed(team, bad_id):
    with pytest.raises(Http404):
        access_object(team.project.documents.all(), bad_id)


def test_access_job_gives_404_when_job_belongs_to_another_project(team):
    job = Job.objects.create(project=team.project, kind="test")
    assert access_job(team.manager, job.pk) == job
    with pytest.raises(Http404):
        access_job(team.outsider, job.pk)
    with pytest.raises(Http404):
        access_job(team.owner, uuid.uuid4())
    with pytest.raises(Http404):
        access_job(team.owner, "not-a-uuid")


def test_access_job_shows_projectless_job_only_to_its_creator(team):
    job = Job.objects.create(project=None, kind="test", created_by=team.coder)
    assert access_job(team.coder, job.pk) == job
    with pytest.raises(Http404):
        access_job(team.owner, job.pk)


def test_access_own_work_refuses_coder_when_work_is_someone_elses(team):
    coder = access_project(team.coder, team.project.slug)
    access_own_work(coder, team.coder.pk)  # their own: allowed
    with pytest.raises(PermissionDenied):
        access_own_work(coder, team.researcher.pk)
    access_own_work(access_project(team.researcher, team.project.slug), team.coder.pk)
