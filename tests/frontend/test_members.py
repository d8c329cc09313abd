"""The members page: owners add people, change roles and remove them, with or without htmx."""

import pytest
from django.urls import reverse

from research.models import Membership
from research.roles import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def members_url(slug: str = "onboarding-calls") -> str:
    return reverse("frontend:project-members", args=[slug])


def member_url(membership: Membership) -> str:
    return reverse("frontend:project-member", args=[membership.project.slug, membership.pk])


def membership_of(team, user) -> Membership:
    return Membership.objects.get(project=team.project, user=user)


def test_members_page_lists_members_with_roles_when_owner(team, client_as) -> None:
    response = client_as(team.owner).get(members_url())

    assert response.status_code == 200
    assert [m.user.username for m in response.context["members"]] == [
        "coder1",
        "manager1",
        "owner1",
        "researcher1",
    ]
    body = response.content.decode()
    assert "outsider" not in body
    assert '<option value="manager" selected>' in body


@pytest.mark.parametrize("role", ["researcher", "coder", "manager"])
def test_members_page_is_403_when_not_owner(team, client_as, role) -> None:
    client = client_as(team.user(role))

    assert client.get(members_url()).status_code == 403
    response = client.post(members_url(), {"username": "outsider", "role": "owner"})
    assert response.status_code == 403
    assert not Membership.objects.filter(project=team.project, user=team.outsider).exists()


def test_member_change_is_403_when_not_owner(team, client_as) -> None:
    target = membership_of(team, team.coder)

    response = client_as(team.coder).post(member_url(target), {"role": "owner"})

    assert response.status_code == 403
    assert membership_of(team, team.coder).role == Role.CODER


def test_members_page_is_404_when_not_member(team, client_as) -> None:
    client = client_as(team.outsider)

    assert client.get(members_url()).status_code == 404
    response = client.post(member_url(membership_of(team, team.coder)), {"role": "owner"})
    assert response.status_code == 404
    assert membership_of(team, team.coder).role == Role.CODER


def test_member_change_is_404_when_membership_is_in_another_project(team, client_as) -> None:
    elsewhere = Membership.objects.get(project=team.other_project, user=team.outsider)

    url = reverse("frontend:project-member", args=["onboarding-calls", elsewhere.pk])
    response = client_as(team.owner).post(url, {"action": "remove"})

    assert response.status_code == 404
    assert Membership.objects.filter(pk=elsewhere.pk).exists()


def test_add_member_redirects_with_message_when_posted_without_htmx(team, client_as) -> None:
    UserFactory.create(username="newcoder")

    response = client_as(team.owner).post(
        members_url(), {"username": "newcoder", "role": "coder"}, follow=True
    )

    assert response.redirect_chain == [(members_url(), 302)]
    assert "Added newcoder as Coder." in response.content.decode()
    assert Membership.objects.get(project=team.project, user__username="newcoder").role == "coder"


def test_add_member_returns_panel_when_posted_with_htmx(team, client_as) -> None:
    UserFactory.create(username="newmanager")

    response = client_as(team.owner).post(
        members_url(), {"username": "newmanager", "role": "manager"}, **HTMX
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="members-panel"')
    assert "<html" not in body
    assert "Added newmanager as Manager." in body
    assert "newmanager" in [m.user.username for m in response.context["members"]]


def test_add_member_shows_error_beside_username_when_user_is_unknown(team, client_as) -> None:
    response = client_as(team.owner).post(members_url(), {"username": "ghost", "role": "coder"})

    assert response.status_code == 400
    assert response.context["add_form"].errors["username"] == ["No user named 'ghost'."]
    assert "No user named &#x27;ghost&#x27;." in response.content.decode()


def test_add_member_shows_error_in_panel_when_already_member_with_htmx(team, client_as) -> None:
    response = client_as(team.owner).post(
        members_url(), {"username": "coder1", "role": "owner"}, **HTMX
    )

    assert response.status_code == 200
    assert "coder1 is already a member of this project." in response.content.decode()
    assert membership_of(team, team.coder).role == Role.CODER


def test_change_role_updates_member_when_owner_posts(team, client_as) -> None:
    target = membership_of(team, team.coder)

    response = client_as(team.owner).post(
        member_url(target), {"action": "change-role", "role": "researcher"}, follow=True
    )

    assert "coder1 is now Researcher." in response.content.decode()
    assert membership_of(team, team.coder).role == Role.RESEARCHER


def test_change_role_returns_panel_when_posted_with_htmx(team, client_as) -> None:
    target = membership_of(team, team.manager)

    response = client_as(team.owner).post(
        member_url(target), {"action": "change-role", "role": "coder"}, **HTMX
    )

    assert response.status_code == 200
    assert "manager1 is now Coder." in response.content.decode()
    assert membership_of(team, team.manager).role == Role.CODER


def test_change_role_shows_error_when_role_is_unknown(team, client_as) -> None:
    target = membership_of(team, team.coder)

    response = client_as(team.owner).post(member_url(target), {"role": "emperor"})

    assert response.status_code == 400
    assert "Choose a role for coder1." in response.content.decode()
    assert membership_of(team, team.coder).role == Role.CODER


def test_last_owner_cannot_be_demoted_when_sole_owner(team, client_as) -> None:
    target = membership_of(team, team.owner)

    response = client_as(team.owner).post(member_url(target), {"role": "coder"})

    assert response.status_code == 400
    assert "A project needs at least one owner." in response.content.decode()
    assert membership_of(team, team.owner).role == Role.OWNER


def test_last_owner_cannot_be_removed_when_sole_owner(team, client_as) -> None:
    target = membership_of(team, team.owner)

    response = client_as(team.owner).post(member_url(target), {"action": "remove"})

    assert response.status_code == 400
    assert (
        "Could not remove owner1: A project needs at least one owner. "
        "Make another member an owner first."
    ) in response.content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()


def test_last_owner_message_is_swapped_in_when_removed_with_htmx(team, client_as) -> None:
    target = membership_of(team, team.owner)

    response = client_as(team.owner).post(member_url(target), {"action": "remove"}, **HTMX)

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert "A project needs at least one owner." in response.content.decode()
    assert Membership.objects.filter(pk=target.pk).exists()


def test_remove_member_deletes_membership_when_owner_posts(team, client_as) -> None:
    target = membership_of(team, team.researcher)

    response = client_as(team.owner).post(member_url(target), {"action": "remove"}, follow=True)

    assert "Removed researcher1 from the project." in response.content.decode()
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_remove_self_sends_owner_to_project_list_when_another_owner_remains(
    team, client_as
) -> None:
    MembershipFactory.create(
        project=team.project, user=UserFactory.create(username="owner2"), role="owner"
    )
    target = membership_of(team, team.owner)

    response = client_as(team.owner).post(member_url(target), {"action": "remove"}, **HTMX)

    assert response["HX-Redirect"] == reverse("frontend:project-list")
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_demote_self_sends_owner_to_project_home_when_another_owner_remains(
    team, client_as
) -> None:
    MembershipFactory.create(
        project=team.project, user=UserFactory.create(username="owner2"), role="owner"
    )
    target = membership_of(team, team.owner)

    response = client_as(team.owner).post(member_url(target), {"role": "researcher"})

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:project-home", args=["onboarding-calls"])
    assert membership_of(team, team.owner).role == Role.RESEARCHER


def test_member_change_is_405_when_method_is_get(team, client_as) -> None:
    response = client_as(team.owner).get(member_url(membership_of(team, team.coder)))

    assert response.status_code == 405
