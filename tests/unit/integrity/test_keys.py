"""Key ids and trusted-key entries, against a known answer.

The key is RFC 8032's first Ed25519 test vector; its SHA-256 was computed apart from Chronicle
(``printf d75a…511a | xxd -r -p | sha256sum`` gives ``21fe31dfa154a261…``).
"""

from __future__ import annotations

import pytest

from chronicle.errors import ConfigurationError
from chronicle.integrity.keys import key_entry, key_id, parse_key_entry, parse_trusted_keys

RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_BASE64 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
RFC8032_KEY_ID = "21fe31dfa154a261"


def test_a_key_id_is_the_first_16_hex_digits_of_the_keys_sha256() -> None:
    assert key_id(RFC8032_PUBLIC) == RFC8032_KEY_ID


def test_an_entry_is_the_key_id_and_the_base64_key() -> None:
    assert key_entry(RFC8032_PUBLIC) == f"{RFC8032_KEY_ID}:{RFC8032_BASE64}"


def test_an_entry_and_a_bare_key_parse_to_the_same_trusted_key() -> None:
    assert parse_key_entry(f"{RFC8032_KEY_ID}:{RFC8032_BASE64}", "x") == (
        RFC8032_KEY_ID,
        RFC8032_PUBLIC,
    )
    assert parse_key_entry(RFC8032_BASE64, "x") == (RFC8032_KEY_ID, RFC8032_PUBLIC)


def test_several_keys_are_trusted_at_once_for_rotation() -> None:
    other = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
    other_key = bytes.fromhex(other)
    keys = parse_trusted_keys(f" {key_entry(RFC8032_PUBLIC)} , {key_entry(other_key)},")
    assert keys == {RFC8032_KEY_ID: RFC8032_PUBLIC, key_id(other_key): other_key}
    assert parse_trusted_keys("") == {}


@pytest.mark.parametrize(
    "text",
    [
        f"0000000000000000:{RFC8032_BASE64}",  # an id that names another key
        f"{RFC8032_KEY_ID.upper()}:{RFC8032_BASE64}",  # ids are lower-case hex
        "21fe31dfa154a261:not base64!",
        "c2hvcnQ=",  # 5 bytes: not a key
    ],
)
def test_a_malformed_entry_names_the_variable(text: str) -> None:
    with pytest.raises(ConfigurationError, match="CHRONICLE_TRUSTED_KEYS"):
        parse_trusted_keys(text)
