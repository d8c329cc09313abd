"""What each role may do (ARCHITECTURE.md's table)."""

import pytest

from research.roles import Capability, Role

C = Capability
EXPECTED = {
    Role.OWNER: set(Capability),
    Role.RESEARCHER: {
        C.READ,
        C.CAPTURE,
        C.EDIT_CODEBOOK,
        C.CODE,
        C.EDIT_OTHERS_WORK,
        C.IMPORT,
        C.EXPORT,
    },
    Role.CODER: {C.READ, C.CODE},
    Role.MANAGER: {C.READ, C.EXPORT},
}


@pytest.mark.parametrize("role", list(Role))
def test_role_grants_exactly_its_capabilities_when_asked(role):
    granted = {capability for capability in Capability if role.can(capability)}
    assert granted == EXPECTED[role]


def test_named_predicates_agree_with_capabilities_when_called():
    assert Role.OWNER.can_manage_members()
    assert not Role.RESEARCHER.can_manage_members()
    assert Role.RESEARCHER.can_edit_codebook()
    assert not Role.CODER.can_edit_codebook()
    assert Role.CODER.can_code()
    assert not Role.MANAGER.can_code()
    assert Role.MANAGER.can_export()
    assert not Role.CODER.can_export()
    assert Role.RESEARCHER.can_capture()
    assert Role.RESEARCHER.can_import()
    assert Role.OWNER.can_manage_project()
    assert not Role.RESEARCHER.can_manage_project()
    assert Role.RESEARCHER.can_edit_others_work()
    assert not Role.CODER.can_edit_others_work()
