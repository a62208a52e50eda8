"""CHRONICLE_SIGNING_KEY's text forms, read the same way by the settings and by the sealer."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chronicle.errors import ConfigurationError
from chronicle.integrity.signing import load_signing_key
from chronicle.key_text import private_key_bytes


def pem_of(key: Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_the_base64_and_the_pem_form_of_one_key_read_as_the_same_bytes() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert private_key_bytes(base64.b64encode(raw).decode()) == raw
    assert private_key_bytes(pem_of(key)) == raw
    assert (
        load_signing_key(pem_of(key)).public
        == load_signing_key(base64.b64encode(raw).decode()).public
    )


@pytest.mark.parametrize(
    "text",
    [
        "not a key",
        base64.b64encode(b"x" * 31).decode(),
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ],
    ids=["not base64", "31 bytes", "broken PEM"],
)
def test_a_malformed_key_is_refused_naming_the_variable(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        private_key_bytes(text)
    assert caught.value.variable == "CHRONICLE_SIGNING_KEY"


def test_a_pem_key_of_another_algorithm_is_refused() -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(ConfigurationError) as caught:
        private_key_bytes(pem_of(other))
    assert "not an Ed25519 key" in str(caught.value)
