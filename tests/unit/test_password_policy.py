"""The password policy of NIST SP 800-63B-4 at its boundaries: length 14 and 15, 64 and more characters,
listed common passwords, the user name and the service's name, repetition; and no composition rules."""

from __future__ import annotations

import pytest

from allpath.accounts.passwords import (
    COMMON_PASSWORDS,
    MAX_LENGTH,
    MIN_LENGTH,
    WeakPassword,
    check,
    common_passwords,
    problem,
)

FINE = "tide pools at dusk"  # 18 characters, words only: no digit, no capital, no symbol needed


def test_the_minimum_is_15_characters_and_14_is_refused() -> None:
    assert MIN_LENGTH == 15  # 800-63B-4: 15 for a password used as a single factor
    fourteen, fifteen = "quietharborfog", "quietharborfogs"
    assert (len(fourteen), len(fifteen)) == (14, 15)
    assert "at least 15 characters" in (problem(fourteen) or "")
    assert problem(fifteen) is None


def test_length_counts_characters_not_bytes() -> None:
    assert problem("ñ" * 7 + "éàüöçß" + "漢") is not None  # 14 characters, more than 15 bytes
    assert problem("ñandú café crème") is None  # 16 characters


def test_64_characters_and_more_are_accepted_up_to_the_maximum() -> None:
    assert MAX_LENGTH >= 64
    sixty_four = ("the lighthouse keeper counts ships " * 2)[:64]
    assert len(sixty_four) == 64 and problem(sixty_four) is None
    longest = ("slow river under an old stone bridge " * 10)[:MAX_LENGTH]
    assert problem(longest) is None
    assert "at most" in (problem(longest + "x") or "")


@pytest.mark.parametrize(
    "password",
    [
        "qwertyuiop12345",  # listed as it is, 15 characters
        "1qaz2wsx3edc4rfv",  # listed
        "Password-2024-12345",  # a listed word with digits and symbols around it
        "iloveyou!!!!!!!!",
        "PASSWORDPASSWORD",  # a listed word repeated
        "dragon dragon dragon",
    ],
)
def test_a_listed_common_password_is_refused(password: str) -> None:
    assert "common or breached" in (problem(password) or "")
    with pytest.raises(WeakPassword):
        check(password)


def test_the_bundled_list_is_the_zxcvbn_list_with_its_source_named() -> None:
    listed = common_passwords()
    assert len(listed) > 29_000 and {"password", "123456", "qwertyuiop12345"} <= listed
    header = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()[:6]
    assert any("zxcvbn" in line and "MIT" in line for line in header)


@pytest.mark.parametrize(
    ("password", "username", "display_name"),
    [
        ("nurse.kim.on.ward", "nurse.kim.on.ward", "Nurse Kim"),  # the user name itself
        ("NURSE.KIM.ON.WARD", "nurse.kim.on.ward", "Nurse Kim"),  # in other letters' case
        ("dr.rivera123456789", "dr.rivera", "Dr. Ana Rivera"),  # the user name with digits
        ("dr.rivera-dr.rivera", "dr.rivera", "Dr. Ana Rivera"),  # repeated
        ("Dr. Ana Rivera 2024!", "ana", "Dr. Ana Rivera"),  # the display name
        ("allpath-allpath-allpath", "someone", "Some One"),  # the service's name
        ("Allpath!!!!!!!!!", "someone", "Some One"),
    ],
)
def test_the_user_name_the_display_name_and_the_service_name_are_refused(
    password: str, username: str, display_name: str
) -> None:
    assert "user name" in (problem(password, username, display_name) or "")


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaaaaa", "abababababababab", "2024-2024-2024-2024", "123456789012345", "abcdefghijklmnop"]
)
def test_repeated_and_consecutive_characters_are_refused(password: str) -> None:
    assert "repeated or consecutive" in (problem(password) or "")


@pytest.mark.parametrize(
    "password",
    [
        FINE,
        "correct horse battery staple",
        "ZZZZ the 4th of July picnic",
        "xkcdmonkeybusinessline",
        "73 91 05 28 46 19 33 07",  # digits only, no pattern
    ],
)
def test_no_composition_rules(password: str) -> None:
    assert problem(password, "someone", "Some One") is None
