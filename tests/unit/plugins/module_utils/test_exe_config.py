# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ServiceControl.exe.config edits against golden files: comments, unknown keys, escaping, idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._exe_config import (
    ExeConfigError,
    read_config,
    update_config,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "exe_config"
REMOTES = '[{"api_uri":"http://sc-audit:44444/api"},{"api_uri":"http://sc-audit-2:44444/api?x=1&y=<2>"}]'
CHANGES = {
    "ServiceControl/IngestErrorMessages": "false",
    "servicecontrol/forwarderrormessages": "true",  # keys compare case-insensitively, as in .NET
    "ServiceBus/ErrorLogQueue": "error_backup",
    "ServiceControl/RemoteInstances": REMOTES,
    "ServiceControl/HostName": None,
}
CONNECTION = {"NServiceBus/Transport": "host=rabbit2;username=sc;password=N3w&<pw>"}


def read(name, crlf=True):
    """A fixture; stored with LF endings (as sanity requires), served with the CRLF endings Windows files have."""
    with open(FIXTURES / name, encoding="utf-8", newline="") as handle:
        text = handle.read()
    return text.replace("\n", "\r\n") if crlf else text


@pytest.mark.parametrize("crlf", [True, False])
def test_the_edit_matches_the_golden_file_byte_for_byte(crlf):
    new, _changes = update_config(read("ServiceControl.exe.config", crlf), CHANGES, CONNECTION)
    assert new == read("ServiceControl.exe.config.expected", crlf)


def test_the_edit_reports_each_change_with_the_files_spelling():
    _new, changes = update_config(read("ServiceControl.exe.config"), CHANGES, CONNECTION)
    by_key = {change["key"]: change for change in changes}
    assert by_key["ServiceControl/ForwardErrorMessages"] == {
        "section": "appSettings",
        "key": "ServiceControl/ForwardErrorMessages",
        "before": "False",
        "after": "true",
    }
    assert by_key["ServiceControl/IngestErrorMessages"]["before"] is None  # the commented-out one does not count
    assert by_key["ServiceControl/HostName"]["after"] is None
    assert by_key["NServiceBus/Transport"]["section"] == "connectionStrings"
    assert len(changes) == 6


def test_comments_unknown_keys_and_line_endings_are_kept():
    new, _changes = update_config(read("ServiceControl.exe.config"), CHANGES, CONNECTION)
    assert "<!-- Added by hand during the 2025 upgrade window:" in new
    assert '<add key="Contoso/Monitoring.Tag" value="keep me" />' in new
    assert new.count("\r\n") == new.count("\n")  # CRLF file stays CRLF
    assert '<gcServer enabled="true" />' in new


def test_values_round_trip_through_xml_escaping():
    new, _changes = update_config(read("ServiceControl.exe.config"), CHANGES, CONNECTION)
    parsed = read_config(new)
    assert parsed["app_settings"]["ServiceControl/RemoteInstances"] == REMOTES
    assert parsed["connection_strings"]["NServiceBus/Transport"] == CONNECTION["NServiceBus/Transport"]
    assert "ServiceControl/HostName" not in parsed["app_settings"]


def test_a_second_run_changes_nothing():
    once, _changes = update_config(read("ServiceControl.exe.config"), CHANGES, CONNECTION)
    twice, changes = update_config(once, CHANGES, CONNECTION)
    assert twice == once
    assert changes == []


def test_reading_ignores_commented_elements_and_the_last_duplicate_wins():
    text = (
        '<configuration><appSettings><!-- <add key="A" value="commented" /> -->'
        '<add key="A" value="1"/><add key="a" value="2"/></appSettings></configuration>'
    )
    assert read_config(text)["app_settings"] == {"a": "2"}
    new, changes = update_config(text, {"A": "3"})
    assert read_config(new)["app_settings"] == {"a": "3"}  # the spelling of the element that stays
    assert new.count("<add ") == 2  # the commented one stays, the shadowed duplicate goes
    assert changes[0]["before"] == "2"


def test_a_self_closing_app_settings_gets_its_first_key():
    new, changes = update_config(
        read("ServiceControl.Audit.exe.config", crlf=False), {"ServiceBus/AuditQueue": "audit_backup"}
    )
    assert read_config(new)["app_settings"] == {"ServiceBus/AuditQueue": "audit_backup"}
    assert changes == [
        {"section": "appSettings", "key": "ServiceBus/AuditQueue", "before": None, "after": "audit_backup"}
    ]
    assert "\n    <add key=\"ServiceBus/AuditQueue\"" in new


def test_missing_sections_are_created():
    new, _changes = update_config("<configuration>\n</configuration>\n", {"K": "v"}, {"NServiceBus/Transport": "x"})
    assert read_config(new) == {"app_settings": {"K": "v"}, "connection_strings": {"NServiceBus/Transport": "x"}}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("<configuration><appSettings>", "not well-formed"), ("<settings/>", "not <configuration>")],
)
def test_files_that_are_not_configuration_files_are_refused(text, complaint):
    with pytest.raises(ExeConfigError, match=complaint):
        update_config(text, {"K": "v"})
