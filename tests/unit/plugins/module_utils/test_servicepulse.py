# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Repointing ServicePulse and ServiceInsight: the app.constants.js edit and the links users open."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._servicepulse import (
    ServicePulseError,
    api_url,
    serviceinsight_link,
    servicepulse_constants,
    servicepulse_links,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._topology import TopologyError, validate_topology

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "servicepulse"
BACKUP = "http://sc-dr:33333/api"


def fixture(name):
    return (FIXTURES / name).read_bytes().decode("utf-8")


TOPOLOGY = {
    "transport": {"type": "LearningTransport", "connection_string": "lt"},
    "instances": [
        {"name": "Particular.ServiceControl", "kind": "error", "url": "http://sc:33333/api"},
        {"kind": "error", "role": "backup", "url": BACKUP},
    ],
    "servicepulse": [
        {"name": "pulse", "kind": "standalone", "host": "web1", "path": "/srv/sp/app.constants.js",
         "url": "http://pulse:9090"},
        {"name": "pulse-win", "kind": "standalone", "os": "windows", "url": "http://pulse-win:9090/",
         "path": "C:\\Program Files (x86)\\Particular Software\\ServicePulse\\app\\js\\app.constants.js"},
        {"name": "pulse-container", "kind": "container", "container": "servicepulse",
         "image": "particular/servicepulse:2.10.2", "port": 9090, "url": "http://docker1:9090"},
        {"name": "pulse-direct", "kind": "container", "engine": "docker", "container": "sp2",
         "image": "particular/servicepulse:2.10.2", "url": "http://docker1:9091",
         "env": {"ENABLE_REVERSE_PROXY": "false"}},
        {"name": "pulse-integrated", "kind": "integrated", "instance": "Particular.ServiceControl"},
    ],
}  # fmt: skip


def topology():
    return copy.deepcopy(TOPOLOGY)


def test_only_the_url_value_changes_in_a_current_servicepulse_file():
    before = fixture("app.constants.2.10.js")
    after = servicepulse_constants(before, BACKUP)
    assert after == before.replace("http://sc-primary:33333/api/", "http://sc-dr:33333/api/")
    # The monitoring URL, the version and every other key are kept, and a second edit changes nothing.
    assert "monitoring_urls: ['http://sc-primary:33633/']" in after
    assert servicepulse_constants(after, BACKUP) == after


def test_crlf_and_older_layouts_are_kept_byte_for_byte_apart_from_the_value():
    # Windows installs keep CRLF line ends; the fixture is stored with LF (sanity refuses CRLF files).
    before = fixture("app.constants.1.30.js").replace("\n", "\r\n")
    after = servicepulse_constants(before, "http://sc-dr:33333/api/", monitoring_urls="http://mon-dr:33633")
    assert after.count("\r\n") == before.count("\r\n") == 7
    assert after == before.replace("http://sc-primary:33333/api/", "http://sc-dr:33333/api/").replace(
        "http://sc-primary:33633/", "http://mon-dr:33633/"
    )


def test_the_angular_file_of_servicepulse_1_3_keeps_its_double_quotes():
    before = fixture("app.constants.1.3-angular.js")
    after = servicepulse_constants(before, BACKUP)
    assert 'service_control_url :  "http://sc-dr:33333/api/"  ,' in after
    assert after.replace("sc-dr", "sc-primary") == before
    with pytest.raises(ServicePulseError, match="has no monitoring_urls array"):
        servicepulse_constants(before, BACKUP, monitoring_urls=["http://mon:33633/"])


def test_monitoring_can_be_switched_off_or_listed():
    before = fixture("app.constants.2.10.js")
    assert "monitoring_urls: ['!']" in servicepulse_constants(before, BACKUP, monitoring_urls="!")
    listed = servicepulse_constants(before, BACKUP, monitoring_urls=["http://a:33633", "http://b:33633/"])
    assert "monitoring_urls: ['http://a:33633/', 'http://b:33633/']" in listed


@pytest.mark.parametrize(
    "content",
    [
        "",
        "<html><body>ServicePulse</body></html>",
        "window.defaultConfig = { serviceControlUrl: 'http://sc:33333/api/' };",
        "a = {service_control_url: 'http://a/api/'}; b = {service_control_url: 'http://b/api/'};",
    ],
)
def test_a_file_that_is_not_servicepulses_is_refused(content):
    with pytest.raises(ServicePulseError, match=re.escape("does not look like ServicePulse's app.constants.js")):
        servicepulse_constants(content, BACKUP)


@pytest.mark.parametrize("url", ["sc-dr:33333/api", "ftp://sc/api", "http://sc/api/'); alert(1); ('", ""])
def test_urls_that_cannot_be_written_into_the_file_are_refused(url):
    with pytest.raises(ServicePulseError):
        servicepulse_constants(fixture("app.constants.2.10.js"), url)


def test_api_url_is_completed_like_servicepulse_does():
    assert api_url("http://sc:33333") == "http://sc:33333/api/"
    assert api_url("http://sc:33333/api") == "http://sc:33333/api/"
    assert api_url("https://sc.example.com/api/") == "https://sc.example.com/api/"


def test_serviceinsight_link_is_the_api_address_without_scheme():
    assert serviceinsight_link("http://sc-dr:33333/api/") == "si://sc-dr:33333/api"
    assert serviceinsight_link("http://sc-dr:33333") == "si://sc-dr:33333/api"


def test_links_per_servicepulse_kind():
    links = {link["name"]: link for link in servicepulse_links(topology(), BACKUP)}
    assert links["pulse"]["link"] == "http://pulse:9090/?scu=http://sc-dr:33333/api/"
    assert links["pulse-win"]["link"] == "http://pulse-win:9090/?scu=http://sc-dr:33333/api/"
    # Behind the container's reverse proxy the browser must go back to the container's own /api/.
    assert links["pulse-container"]["link"] == "http://docker1:9090/?scu=http://docker1:9090/api/"
    assert links["pulse-direct"]["link"] == "http://docker1:9091/?scu=http://sc-dr:33333/api/"
    # Integrated ServicePulse follows its instance: users open the instance's root.
    assert links["pulse-integrated"]["link"] == "http://sc-dr:33333/"
    assert "nothing changes on ServicePulse" in links["pulse-integrated"]["note"]
    assert {link["serviceinsight"] for link in links.values()} == {"si://sc-dr:33333/api"}
    assert {link["service_control_url"] for link in links.values()} == {"http://sc-dr:33333/api/"}


def test_links_can_be_limited_and_carry_the_monitoring_url():
    links = servicepulse_links(topology(), BACKUP, monitoring_url="http://mon-dr:33633", names=["pulse"])
    assert [link["link"] for link in links] == [
        "http://pulse:9090/?scu=http://sc-dr:33333/api/&mu=http://mon-dr:33633/"
    ]
    with pytest.raises(ServicePulseError, match="No ServicePulse named nope"):
        servicepulse_links(topology(), BACKUP, names=["nope"])


def test_a_service_control_url_with_a_query_is_refused_and_the_off_switch_is_kept():
    with pytest.raises(ServicePulseError, match="has a query or fragment"):
        servicepulse_links(topology(), "http://sc-dr:33333/api/?a=1&b=2", names=["pulse"])
    links = servicepulse_links(topology(), BACKUP, monitoring_url="!", names=["pulse"])
    assert links[0]["link"] == "http://pulse:9090/?scu=http://sc-dr:33333/api/&mu=!"


def test_no_servicepulse_in_the_topology_gives_no_links():
    plain = topology()
    del plain["servicepulse"]
    assert servicepulse_links(plain, BACKUP) == []
    assert validate_topology(plain)["servicepulse"] == []


def test_servicepulse_entries_are_normalised_with_their_defaults():
    entries = {e["name"]: e for e in validate_topology(topology())["servicepulse"]}
    assert entries["pulse"]["os"] == "linux"
    assert entries["pulse-container"]["engine"] == "podman" and entries["pulse-container"]["env"] == {}
    assert entries["pulse-direct"]["engine"] == "docker"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "desktop"}, "servicepulse[0] (pulse) must be a mapping with 'name' and a 'kind'"),
        ({"path": None}, "a standalone ServicePulse needs 'path'"),
        ({"url": None}, "a standalone ServicePulse needs 'url'"),
        ({"os": "macos"}, "has os 'macos'; use linux or windows"),
        ({"image": "x"}, "has key(s) image, which a standalone ServicePulse does not take"),
        ({"name": "pulse-win"}, "another ServicePulse entry is already named 'pulse-win'"),
    ],
)
def test_bad_standalone_entries_are_refused_with_the_entry_named(change, message):
    bad = topology()
    bad["servicepulse"][0].update(change)
    with pytest.raises(TopologyError, match=re.escape(message)):
        validate_topology(bad)


def test_bad_container_and_integrated_entries_are_refused():
    bad = topology()
    bad["servicepulse"][2]["engine"] = "lxc"
    bad["servicepulse"][3]["env"]["SERVICECONTROL_URL"] = "http://elsewhere:33333"
    del bad["servicepulse"][3]["image"]
    bad["servicepulse"][4]["instance"] = "Particular.ServiceControl.Audit"
    with pytest.raises(TopologyError) as error:
        validate_topology(bad)
    message = str(error.value)
    assert "servicepulse[2] (pulse-container) has engine 'lxc'; use podman or docker." in message
    assert "servicepulse[3] (pulse-direct): env sets SERVICECONTROL_URL" in message
    assert "servicepulse[3] (pulse-direct): a container ServicePulse needs 'image'." in message
    assert "instance 'Particular.ServiceControl.Audit' is not an Error instance of the topology" in message
    bad["servicepulse"] = {"name": "pulse"}
    with pytest.raises(TopologyError, match="'servicepulse' must be a list"):
        validate_topology(bad)
