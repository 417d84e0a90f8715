# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._version import Version, parse_version


@pytest.mark.parametrize(
    ("text", "release", "prerelease"),
    [
        ("6.19.2", (6, 19, 2), ()),
        ("4.33.0", (4, 33, 0), ()),
        ("6.20.0-alpha.3", (6, 20, 0), ("alpha", "3")),
        ("5.0.0-beta.1+a1b2c3d", (5, 0, 0), ("beta", "1")),
        ("6.19", (6, 19, 0), ()),
        ("4.33.0.0", (4, 33, 0), ()),
        (" 6.19.2 ", (6, 19, 2), ()),
    ],
)
def test_parses_servicecontrol_versions(text, release, prerelease):
    version = Version(text)
    assert version.release == release
    assert version.prerelease == prerelease
    assert (version.major, version.minor, version.patch) == release[:3]
    assert version.is_prerelease is bool(prerelease)


@pytest.mark.parametrize("text", ["Unknown", "Missing", "", "six", "6..1", "6.19.2-", None, 6])
def test_parse_version_gives_none_for_placeholders_and_garbage(text):
    assert parse_version(text) is None


@pytest.mark.parametrize("text", ["Unknown", "6.x", "", "6.19.2 beta"])
def test_version_rejects_non_versions_with_a_clear_message(text):
    with pytest.raises(ValueError, match="is not a ServiceControl version"):
        Version(text)


def test_version_rejects_non_strings():
    with pytest.raises(ValueError, match="must be a string"):
        Version(6.19)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("4.33.0", "4.33.1"),
        ("4.32.9", "4.33.0"),
        ("5.11.0", "6.0.0"),
        ("6.9.0", "6.10.0"),  # numeric, not lexical
        ("6.20.0-alpha.3", "6.20.0"),  # a prerelease sorts before its release
        ("6.20.0-alpha.3", "6.20.0-alpha.10"),
        ("6.20.0-alpha.3", "6.20.0-beta.1"),
        ("6.20.0-alpha", "6.20.0-alpha.1"),
        ("6.20.0-alpha.9", "6.20.0-alpha.rc"),  # numeric identifiers sort before alphanumeric ones
        ("6.19.2", "6.20.0-alpha.1"),
        ("6.19.2", "6.19.2.1"),
    ],
)
def test_ordering(lower, higher):
    assert Version(lower) < Version(higher)
    assert Version(higher) > Version(lower)
    assert Version(higher) >= Version(lower)
    assert Version(lower) != Version(higher)


def test_equal_versions_are_equal_and_hash_alike():
    assert Version("6.19") == Version("6.19.0") == Version("6.19.0.0")
    assert hash(Version("6.19")) == hash(Version("6.19.0"))
    assert Version("6.19.2+abc") == Version("6.19.2")
    assert len({Version("4.33.0"), Version("4.33"), Version("4.33.0.0")}) == 1


def test_compares_with_strings_for_feature_gates():
    version = parse_version("4.33.0")
    assert version >= "4.33.0"
    assert version >= Version("4.33.0")
    assert (version < "4.33.0") is False
    assert version < "5.0.0"
    assert parse_version("4.32.3") < "4.33.0"


def test_comparing_with_other_types_is_not_supported():
    assert Version("6.19.2") != 6
    with pytest.raises(TypeError):
        Version("6.19.2") < 6  # noqa: B015 - the comparison itself must raise


def test_text_round_trips():
    assert str(Version("6.20.0-alpha.3")) == "6.20.0-alpha.3"
    assert repr(Version("6.19.2")) == "Version('6.19.2')"
    assert Version(Version("6.19.2")) == Version("6.19.2")
