"""What users install with the collection is declared, once, where each tool reads it (issue 12).

- meta/ee-requirements.txt names every Python library the plugins ask for, and the connection libraries of the
  targets the roles reach (Windows, docker), with floors only (collection requirements forbid caps);
- galaxy.yml declares every collection the roles and playbooks call, and only those; every requirements.yml of the
  examples (the execution environment's, the lab repository's) names this collection and the same dependencies,
  with galaxy.yml's floors where it gives one;
- meta/runtime.yml's requires_ansible is the range `make test` runs: its main leg's ansible-core to its newest.
The build, the offline install, the demo from the installed artifact and the execution environment's build
context are exercised for real by `make artifact-2.21` and `make ee`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# The name a plugin reports through missing_required_lib() or a TransportDependencyError.
LIBRARY_ASKED = re.compile(r"(?:missing_required_lib|TransportDependencyError)\(\s*\"([A-Za-z0-9_.\-\[\]]+)\"")
# A module or role named by FQCN in a task: `community.docker.docker_container:` or `name: ns.coll.role`.
FQCN_USE = re.compile(r"^\s*(?:-\s+)?(?:name:\s+)?([a-z][a-z_0-9]*\.[a-z][a-z_0-9]*)\.[a-z_0-9]+:?\s*$", re.MULTILINE)
NOT_A_DEPENDENCY = {"ansible.builtin", "ansible.legacy", "servicecontrol.platform"}


def requirement_names(path):
    names = {}
    for line in (ROOT / path).read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name = re.match(r"[A-Za-z0-9_.\-]+", requirement).group(0).lower()
            names[name] = requirement[len(name) :]
    return names


def yaml_file(path):
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


def collections_called():
    called = set()
    for path in sorted([*(ROOT / "roles").rglob("*.yml"), *(ROOT / "playbooks").rglob("*.yml")]):
        called |= set(FQCN_USE.findall(path.read_text(encoding="utf-8")))
    return called - NOT_A_DEPENDENCY


def pinned(lock, package):
    match = re.search(r"^%s==(\d+)\.(\d+)\.\d+$" % package, (ROOT / lock).read_text(encoding="utf-8"), re.MULTILINE)
    assert match, "%s pins no %s" % (lock, package)
    return int(match.group(1)), int(match.group(2))


def test_ee_requirements_name_every_library_the_plugins_ask_for():
    asked = set()
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        asked |= {name.split("[", 1)[0].lower() for name in LIBRARY_ASKED.findall(path.read_text(encoding="utf-8"))}
    assert {"httpx", "psycopg", "boto3"} <= asked, "the plugins' library names were not found: %s" % sorted(asked)
    listed = requirement_names("meta/ee-requirements.txt")
    assert asked - set(listed) == set(), "libraries the plugins ask for but the execution environment lacks"


def test_ee_requirements_carry_the_targets_connection_libraries():
    listed = requirement_names("meta/ee-requirements.txt")
    called = collections_called()
    if "ansible.windows" in called:
        assert {"pywinrm", "pypsrp"} <= set(listed), "Windows targets are reached over WinRM or PSRP"
    if "community.docker" in called:
        assert {"docker", "requests"} <= set(listed), "community.docker talks to the Docker API through these"


def test_ee_requirements_have_floors_and_no_caps():
    for name, specifier in requirement_names("meta/ee-requirements.txt").items():
        version = re.sub(r"^\[[^\]]*\]", "", specifier)
        assert re.fullmatch(r"(>=[0-9][0-9.]*)?", version), "%s%s: only >= floors (or none)" % (name, specifier)


def test_galaxy_declares_every_collection_the_content_calls_and_no_other():
    declared = set(yaml_file("galaxy.yml")["dependencies"] or {})
    called = collections_called()
    assert called, "no collection calls found in roles/: the pattern no longer matches the task files"
    assert called - declared == set(), "called by roles or playbooks but not declared in galaxy.yml dependencies"
    assert declared - called == set(), "declared in galaxy.yml but called nowhere"


def test_examples_requirements_name_the_collection_and_its_dependencies():
    declared = dict(yaml_file("galaxy.yml")["dependencies"])
    version = tuple(map(int, yaml_file("galaxy.yml")["version"].split(".")))
    files = sorted((ROOT / "examples").rglob("requirements.yml"))
    assert len(files) >= 2, "examples/requirements.yml (execution environment) and examples/lab/requirements.yml"
    for path in files:
        named = {entry["name"]: entry.get("version") for entry in yaml_file(path.relative_to(ROOT))["collections"]}
        floor = named.pop("servicecontrol.platform", "missing")
        if floor is not None:
            found = re.fullmatch(r">=(\d+)\.(\d+)\.(\d+)", floor)
            assert found, "%s: servicecontrol.platform needs a >=X.Y.Z floor, not %s" % (path, floor)
            assert tuple(map(int, found.groups())) <= version, "%s: the floor %s is above galaxy.yml" % (path, floor)
        assert set(named) == set(declared), "%s names other collections than galaxy.yml declares" % path
        for name, wanted in named.items():
            assert wanted in (None, declared[name]), "%s: %s %s; galaxy.yml: %s" % (path, name, wanted, declared[name])


def test_requires_ansible_is_the_range_make_test_runs():
    oldest = pinned("requirements/dev.txt", "ansible-core")
    newest = pinned("requirements/ansible-2.21.txt", "ansible-core")
    tested = ">=%d.%d.0,<%d.%d.0" % (*oldest, newest[0], newest[1] + 1)
    assert yaml_file("meta/runtime.yml")["requires_ansible"] == tested
    ee = yaml_file("examples/execution-environment.yml")
    assert ee["dependencies"]["ansible_core"]["package_pip"] == "ansible-core%s" % tested


def test_version_is_semantic():
    version = yaml_file("galaxy.yml")["version"]
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", version), version
