"""Field vault: AES-GCM round trip, key rotation, tamper and wrong-field refusal, blind
indexes, key loading, masking and log redaction."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric

from mobilend.adapters.vault import (
    FieldVault,
    KeyRing,
    PiiRedactingFilter,
    VaultError,
    load_pii_secrets,
    redact_pii,
    redact_text,
)
from mobilend.adapters.vault.keyring import b64decode, b64encode, developer_secrets_path

INDEX_KEY = bytes(range(32))


def national_id(body: str = "11010119900307123") -> str:
    return body + ric.calc_check_digit(body + "0")


def vault(ring: KeyRing | None = None, index_key: bytes = INDEX_KEY) -> FieldVault:
    return FieldVault(ring or KeyRing.generate("k1"), index_key)


# --------------------------------------------------------------------------- encryption


@given(st.text(max_size=200))
def test_round_trip_any_text(value: str) -> None:
    v = vault(KeyRing((("k1", b"\x01" * 32),)))
    sealed = v.encrypt("real_name", value)
    assert v.decrypt("real_name", sealed) == value


def test_sealed_value_names_its_key_and_hides_the_plaintext() -> None:
    v = vault()
    id_number = national_id()
    sealed = v.encrypt("national_id", id_number)
    key_id, nonce, body = sealed.split(":")
    assert key_id == "k1"
    assert len(b64decode(nonce)) == 12
    assert len(b64decode(body)) == len(id_number) + 16  # GCM tag
    assert id_number not in sealed
    assert v.encrypt("national_id", id_number) != sealed  # fresh nonce every time


def test_ciphertext_moved_to_another_field_does_not_open() -> None:
    v = vault()
    sealed = v.encrypt("national_id", national_id())
    with pytest.raises(VaultError, match="another field"):
        v.decrypt("phone", sealed)


@pytest.mark.parametrize("part", [1, 2])
def test_tampered_value_is_refused(part: int) -> None:
    v = vault()
    pieces = v.encrypt("phone", "+8613812345678").split(":")
    raw = bytearray(b64decode(pieces[part]))
    raw[-1] ^= 0x01
    pieces[part] = b64encode(bytes(raw))
    with pytest.raises(VaultError):
        v.decrypt("phone", ":".join(pieces))


@pytest.mark.parametrize("junk", ["", "k1", "k1:abc", "k1:a:b:c", "k9:AAAAAAAAAAAAAAAA:AAAA"])
def test_malformed_or_unknown_key_is_refused(junk: str) -> None:
    with pytest.raises(VaultError):
        vault().decrypt("phone", junk)


def test_rotation_new_key_encrypts_old_keys_still_decrypt_and_rotate_reseals() -> None:
    old_ring = KeyRing.generate("k1")
    old_vault = vault(old_ring)
    sealed_old = old_vault.encrypt("bank_card", "6222021234567890128")

    new_ring = old_ring.with_new_key("k2")
    assert new_ring.current_id == "k2"
    new_vault = vault(new_ring)
    assert new_vault.decrypt("bank_card", sealed_old) == "6222021234567890128"
    assert new_vault.needs_rotation(sealed_old)

    rotated = new_vault.rotate("bank_card", sealed_old)
    assert rotated.startswith("k2:")
    assert new_vault.decrypt("bank_card", rotated) == "6222021234567890128"
    assert not new_vault.needs_rotation(rotated)
    assert new_vault.rotate("bank_card", rotated) == rotated

    # Once k1 is retired from the ring, only rotated values still open.
    retired = vault(KeyRing((new_ring.keys[0],)))
    assert retired.decrypt("bank_card", rotated) == "6222021234567890128"
    with pytest.raises(VaultError, match="unknown key"):
        retired.decrypt("bank_card", sealed_old)


def test_key_ring_parsing_and_validation() -> None:
    k2, k1 = b"\x02" * 32, b"\x01" * 32
    ring = KeyRing.parse(f" k2:{b64encode(k2)} , k1:{b64encode(k1)}= ")
    assert ring.current_id == "k2" and ring.key("k1") == k1
    assert KeyRing.parse(ring.render()) == ring
    for bad in (
        "",
        "k1",
        f"k1:{b64encode(b'short')}",
        f"k1:{b64encode(k1)},k1:{b64encode(k2)}",
        f"bad id:{b64encode(k1)}",
    ):
        with pytest.raises(VaultError):
            KeyRing.parse(bad)
    with pytest.raises(VaultError):
        FieldVault(ring, b"too short")


# --------------------------------------------------------------------------- blind indexes


def test_blind_index_is_stable_normalised_keyed_and_per_field() -> None:
    v = vault()
    id_number = national_id("11010119900307123")
    assert v.blind_index("national_id", id_number) == vault().blind_index("national_id", id_number)
    assert v.blind_index("national_id", id_number.lower()) == v.blind_index(
        "national_id", f" {id_number} "
    )
    assert v.blind_index("phone", "+86 138-1234-5678") == v.blind_index("phone", "13812345678")
    assert v.blind_index("bank_card", "6222 0212 3456 7890 128") == v.blind_index(
        "bank_card", "6222021234567890128"
    )
    assert v.blind_index("phone", "13812345678") != v.blind_index("phone", "13812345679")
    assert v.blind_index("phone", "13812345678") != v.blind_index("bank_card", "13812345678")
    assert v.blind_index("phone", "13812345678") != vault(index_key=b"\x07" * 32).blind_index(
        "phone", "13812345678"
    )
    assert len(v.blind_index("phone", "13812345678")) == 64
    assert "13812345678" not in v.blind_index("phone", "13812345678")


def test_blind_index_does_not_depend_on_the_encryption_key() -> None:
    id_number = national_id()
    assert vault(KeyRing.generate("k1")).blind_index("national_id", id_number) == vault(
        KeyRing.generate("k7")
    ).blind_index("national_id", id_number)


# --------------------------------------------------------------------------- loading keys


def test_developer_keys_are_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = load_pii_secrets(var_dir=tmp_path)
    path = developer_secrets_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_pii_secrets(var_dir=tmp_path)
    assert first == second
    other_machine = load_pii_secrets(var_dir=tmp_path / "other")
    assert other_machine.key_ring.keys[0][1] != first.key_ring.keys[0][1]
    v = FieldVault.from_secrets(first)
    assert FieldVault.from_secrets(second).decrypt("phone", v.encrypt("phone", "+8613812345678"))


def test_configured_keys_need_both_parts(tmp_path: Path) -> None:
    ring = KeyRing.generate("prod1").render()
    index = b64encode(b"\x05" * 32)
    loaded = load_pii_secrets(ring, index, var_dir=tmp_path)
    assert loaded.key_ring.current_id == "prod1" and loaded.index_key == b"\x05" * 32
    assert not developer_secrets_path(tmp_path).exists()
    with pytest.raises(VaultError):
        load_pii_secrets(ring, "", var_dir=tmp_path)


# --------------------------------------------------------------------------- redaction


ID = national_id()


@pytest.mark.parametrize(
    ("raw", "leaks", "expected"),
    [
        (f"kyc for {ID} ok", ID, f"kyc for {ID[:3]}***********{ID[-4:]} ok"),
        ("call +86 138-1234-5678 now", "1234", "call 138****5678 now"),
        ("sms to 13812345678", "13812345678", "sms to 138****5678"),
        ("card=6222021234567890128;", "62220212345678", "card=***************0128;"),
        ("card 6222 0212 3456 7890", "6222 0212", "card ************7890"),
    ],
)
def test_redact_text_masks_ids_phones_and_cards(raw: str, leaks: str, expected: str) -> None:
    redacted = redact_text(raw)
    assert redacted == expected
    assert leaks not in redacted


def test_redact_text_leaves_ordinary_numbers_alone() -> None:
    line = "loan L0001 amount 1000.00 on 2026-03-01 12:00:00 term 12 dpd 0 id 8f3c-11ab"
    assert redact_text(line) == line


def test_logging_filter_masks_a_raw_id_in_message_args_extras_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("mobilend.test.redaction")
    caplog.handler.addFilter(PiiRedactingFilter())
    with caplog.at_level(logging.INFO, logger="mobilend.test.redaction"):
        logger.info("borrower submitted %s from %s", ID, "13812345678", extra={"national_id": ID})
        try:
            raise ValueError(f"duplicate national id {ID}")
        except ValueError:
            logger.exception("kyc failed")
    text = caplog.text
    assert ID not in text and "13812345678" not in text
    assert f"{ID[:3]}***********{ID[-4:]}" in text
    assert "138****5678" in text
    info, error = caplog.records
    assert ID not in info.getMessage()
    assert info.national_id == f"{ID[:3]}***********{ID[-4:]}"
    assert error.exc_text is not None and ID not in error.exc_text


def test_structlog_processor_masks_values_and_sensitive_keys() -> None:
    structlog.configure(
        processors=[redact_pii, structlog.processors.KeyValueRenderer(sort_keys=True)],
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    try:
        line = structlog.get_logger().info(
            f"kyc {ID}",
            real_name="张三",
            phone="+8613812345678",
            nested={"card_number": "6222021234567890128"},
        )
    finally:
        structlog.reset_defaults()
    assert (
        ID not in line
        and "张三" not in line
        and "13812345678" not in line
        and "567890128" not in line
    )
    assert "张*" in line and "138****5678" in line and "0128" in line
