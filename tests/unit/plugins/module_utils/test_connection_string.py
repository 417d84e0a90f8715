# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one connection-string parser: DbConnectionStringBuilder's rules (docs/reference/transports.md §10.1)."""

from __future__ import annotations

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._connection_string import (
    ConnectionString,
    ConnectionStringError,
    parse_connection_string,
    quote_value,
)

SECRET = "p@ss;w0rd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=1;b=2", [("a", "1"), ("b", "2")]),
        ("  Data Source = db ; Initial Catalog=sc ;", [("Data Source", "db"), ("Initial Catalog", "sc")]),
        (";;a=1;;", [("a", "1")]),
        ('Password="a;b=c"', [("Password", "a;b=c")]),
        ("Password='a;b'", [("Password", "a;b")]),
        ('Password="say ""hi"""', [("Password", 'say "hi"')]),
        ("Password='it''s'", [("Password", "it's")]),
        ("Password=it's", [("Password", "it's")]),
        ('Password = "  padded  " ;x=1', [("Password", "  padded  "), ("x", "1")]),
        ("weird==key=v", [("weird=key", "v")]),
        ("AccountKey=abc==;x=y", [("AccountKey", "abc=="), ("x", "y")]),
        ("empty=;x=1", [("empty", ""), ("x", "1")]),
    ],
)
def test_parses_like_dbconnectionstringbuilder(text, expected):
    assert parse_connection_string(text).pairs == expected


def test_lookup_is_case_insensitive_and_the_last_key_wins():
    parsed = parse_connection_string("Host=a;HOST=b;port=1")
    assert parsed.get("host") == "b"
    assert "Port" in parsed
    assert parsed.lowered() == {"host": "b", "port": "1"}
    assert len(parsed) == 2


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("a=1;%s;b=2" % SECRET.replace(";", ""), "part 2 has no 'Key=Value' form"),
        ('Password="%s' % SECRET, "part 1 has a quoted value without its closing quote"),
        ('Password="%s"x' % SECRET, "part 1 has characters after its quoted value"),
        ("=value", "part 1 has an empty key"),
        ("   ", "empty"),
    ],
)
def test_malformed_strings_are_named_by_position_never_echoed(text, complaint):
    with pytest.raises(ConnectionStringError) as raised:
        parse_connection_string(text)
    assert complaint in str(raised.value)
    assert "w0rd" not in str(raised.value)


def test_secrets_are_the_values_of_secret_keys():
    parsed = parse_connection_string('host=h;Password="%s";AccountKey=k3y==;SharedAccessKey=sak;user=u' % SECRET)
    assert parsed.secrets() == [SECRET, "k3y==", "sak"]


def test_without_drops_keys_in_any_case():
    parsed = parse_connection_string("A=1;Subscriptions Table=t;b=2")
    assert parsed.without("subscriptions table").pairs == [("A", "1"), ("b", "2")]


@pytest.mark.parametrize(
    ("value", "written"),
    [("plain", "plain"), ("a;b", '"a;b"'), (' x', '" x"'), ('say "hi"', "'say \"hi\"'"), ("it's", '"it\'s"')],
)
def test_values_are_quoted_only_when_needed_and_round_trip(value, written):
    assert quote_value(value) == written
    text = ConnectionString([("k", value)]).format()
    assert parse_connection_string(text).get("k") == value


def test_sdk_string_refuses_a_semicolon_by_key_without_the_value():
    parsed = parse_connection_string('Endpoint=sb://x/;SharedAccessKey="%s"' % SECRET)
    with pytest.raises(ConnectionStringError) as raised:
        parsed.sdk_string("the Azure SDK")
    assert "value of 'SharedAccessKey'" in str(raised.value)
    assert "the Azure SDK" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_sdk_string_is_the_plain_form_with_the_last_value_of_each_key():
    parsed = parse_connection_string("AccountName='acc';AccountKey=k==;accountname=acc2")
    # Like the builder's dictionary: the first spelling and position, the last value.
    assert parsed.sdk_string("the SDK") == "AccountName=acc2;AccountKey=k=="
