"""Project, membership and participant services, and the database constraints behind them."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from research import services
from research.models import Membership, Participant
from research.roles import Role
from tests.factories import MembershipFactory, ParticipantFactory, UserFactory


@pytest.mark.django_db
def test_project_create_makes_creator_owner_when_slug_is_free():
    user = UserFactory.create()
    project = services.project_create(creator=user, slug="churn-2026", name="Churn interviews")
    membership = project.memberships.get()
    assert membership.user == user
    assert membership.role == Role.OWNER
    assert "onboarding" in project.journey_stages


def test_project_create_refuses_when_slug_is_taken(team):
    with pytest.raises(ValidationError) as error:
        services.project_create(creator=team.coder, slug=team.project.slug, name="Again")
    assert "slug" in error.value.message_dict


def test_project_update_refuses_when_changing_slug(team):
    with pytest.raises(ValidationError) as error:
        services.project_update(project=team.project, slug="renamed")
    assert "slug" in error.value.message_dict
    services.project_update(project=team.project, name="Renamed study")
    team.project.refresh_from_db()
    assert team.project.name == "Renamed study"
    assert team.project.slug == "onboarding-calls"


def test_membership_create_adds_user_when_not_yet_member(team):
    membership = services.membership_create(project=team.project, username="outsider", role="coder")
    assert membership.role == Role.CODER
    with pytest.raises(ValidationError):
        services.membership_create(project=team.project, username="outsider", role="manager")


def test_membership_update_refuses_when_demoting_last_owner(team):
    owner = team.project.memberships.get(user=team.owner)
    with pytest.raises(ValidationError) as error:
        services.membership_update(membership=owner, role=Role.CODER)
    assert "owner" in str(error.value)
    services.membership_update(
        membership=team.project.memberships.get(user=team.coder), role="owner"
    )
    assert services.membership_update(membership=owner, role=Role.CODER).role == Role.CODER


def test_membership_delete_refuses_when_removing_last_owner(team):
    owner = team.project.memberships.get(user=team.owner)
    with pytest.raises(ValidationError):
        services.membership_delete(membership=owner)
    services.membership_delete(membership=team.project.memberships.get(user=team.coder))
    assert not team.project.memberships.filter(user=team.coder).exists()


def test_membership_is_unique_per_user_and_project_when_inserted_directly(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(project=team.project, user=team.coder, role=Role.MANAGER)


def test_participant_create_refuses_duplicate_pseudonym_when_in_same_project(team):
    services.participant_create(project=team.project, pseudonym="P07", customer_ref="C-7")
    with pytest.raises(ValidationError) as error:
        services.participant_create(project=team.project, pseudonym="P07")
    assert "pseudonym" in error.value.message_dict
    # The same pseudonym in another project is a different person.
    assert services.participant_create(project=team.other_project, pseudonym="P07")


def test_participant_pseudonym_is_unique_in_database_when_inserted_directly(team):
    ParticipantFactory.create(project=team.project, pseudonym="P01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.create(project=team.project, pseudonym="P01")


def test_participant_update_refuses_when_attributes_is_not_an_object(team):
    participant = ParticipantFactory.create(project=team.project)
    with pytest.raises(ValidationError):
        services.participant_update(participant=participant, attributes=["a"])
    updated = services.participant_update(participant=participant, attributes={"plan": "SIM-only"})
    assert updated.attributes == {"plan": "SIM-only"}


def test_membership_role_must_be_known_when_inserted_directly(team):
    user = UserFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic():
        MembershipFactory.create(project=team.project, user=user, role="boss")
