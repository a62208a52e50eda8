"""Which argon2id parameters the service hashes passwords with."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters, profiles

from chronicle.chat.api.app import password_hasher
from chronicle.config import load_settings
from chronicle.errors import ConfigurationError


def test_the_default_profile_is_rfc_9106_low_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHRONICLE_PASSWORD_PROFILE", raising=False)
    hashed = password_hasher(load_settings()).hash("correct horse")

    parameters = extract_parameters(hashed)
    assert (parameters.memory_cost, parameters.time_cost) == (64 * 1024, 3)
    assert parameters == profiles.RFC_9106_LOW_MEMORY


def test_a_hash_made_under_one_profile_verifies_under_another() -> None:
    cheap = password_hasher(load_settings(password_profile="CHEAPEST"))
    default = password_hasher(load_settings(password_profile="RFC_9106_LOW_MEMORY"))

    assert default.verify(cheap.hash("correct horse"), "correct horse")


def test_an_unknown_profile_is_a_settings_error() -> None:
    with pytest.raises(ConfigurationError, match="CHRONICLE_PASSWORD_PROFILE"):
        load_settings(password_profile="FAST")
