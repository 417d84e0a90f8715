"""Release checks of `make test` (docs/releasing.md). Each prints one closing line, `<check>: ...`, or fails.

    python tests/release_checks.py changelog                   make changelog-lint
    python tests/release_checks.py docs COLLECTION_DIR         make docs-lint
    python tests/release_checks.py ee CONTEXT_DIR COLLECTIONS  make ee

Run with a venv that has antsibull-changelog, antsibull-docs, ansible-builder and ansible-core on PATH
(make uses the 2.21 leg's, requirements/ansible-2.21.txt).
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# Ansible's documentation markup (C(), V(), O(), M(), I(), L(), U(), B()): fragments are RST, where it stays literal.
ANSIBLE_MARKUP = re.compile(r"(?<![\w])[BCILMOUV]\([^)\s][^)]*\)")


class CheckFailed(Exception):
    pass


def run(argv, cwd, check=True):
    completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if check and completed.returncode != 0:
        raise CheckFailed(
            "%s exited %d:\n%s%s" % (" ".join(argv), completed.returncode, completed.stdout, completed.stderr)
        )
    return completed


def version_key(version):
    match = SEMVER.match(version)
    if not match:
        raise CheckFailed("version %r is not a semantic version (MAJOR.MINOR.PATCH)" % version)
    return tuple(int(part) for part in match.groups())


def visible_files():
    """The files git knows (tracked, and untracked but not ignored): what `make tree` copies."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def fragment_entries(fragments):
    """The number of entries in the fragments; Ansible markup, which the changelog would print literally, fails."""
    entries = 0
    for path in fragments:
        for section, items in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            for item in [items] if isinstance(items, str) else items:
                entries += section != "trivial"
                found = ANSIBLE_MARKUP.findall(item)
                if found:
                    raise CheckFailed("%s: %s is Ansible markup; fragments are RST: write ``code``" % (path, found[0]))
    return entries


def check_version(version, released, fragments):
    """Semantic, never behind the last release, and ahead of it while fragments wait to be released."""
    version_key(version)
    last = max(released, key=version_key) if released else None
    if last and version_key(version) < version_key(last):
        raise CheckFailed("galaxy.yml version %s is older than the last release %s" % (version, last))
    if last and version == last and fragments:
        raise CheckFailed(
            "%d fragments wait for a release, but galaxy.yml still says %s, which is released: "
            "bump it (docs/releasing.md)" % (len(fragments), version)
        )
    return last


def trial_release(version, released):
    """In a copy of the checkout: CHANGELOG.md is what changelog.yaml renders; a release of VERSION renders it."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "platform"
        for name in visible_files():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
        committed = ROOT / "CHANGELOG.md"
        if released:
            run(["antsibull-changelog", "generate"], copy)
            rendered = (copy / "CHANGELOG.md").read_text(encoding="utf-8")
            if not committed.is_file() or rendered != committed.read_text(encoding="utf-8"):
                raise CheckFailed("CHANGELOG.md differs from what changelog.yaml renders: antsibull-changelog generate")
        run(["antsibull-changelog", "release", "--date", datetime.date.today().isoformat()], copy)
        trial = (copy / "CHANGELOG.md").read_text(encoding="utf-8")
        section = trial.split("## v%s" % version.replace(".", "\\."), 1)
        if len(section) != 2:
            raise CheckFailed("the trial release of %s has no section in CHANGELOG.md:\n%s" % (version, trial[:2000]))
        left = [path.name for path in (copy / "changelogs" / "fragments").glob("*.y*ml")]
        if left:
            raise CheckFailed("the trial release left fragments behind: %s" % ", ".join(left))
        return len(re.findall(r"^\* ", section[1].split("\n## v", 1)[0], flags=re.MULTILINE))


def changelog():
    fragments = sorted(path for path in (ROOT / "changelogs" / "fragments").glob("*.y*ml"))
    # 1. antsibull-changelog's own lint of every fragment (sections, types, RST).
    linted = run(["antsibull-changelog", "lint"], ROOT, check=False)
    if linted.returncode != 0 or linted.stdout.strip():
        raise CheckFailed("antsibull-changelog lint:\n%s%s" % (linted.stdout, linted.stderr))
    # 2. What its lint lets through.
    entries = fragment_entries(fragments)
    # 3. The version against the releases.
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text(encoding="utf-8"))["version"]
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text(encoding="utf-8")) or {}
    released = changes.get("releases") or {}
    last = check_version(version, released, fragments)
    # 4. The changelog renders, now and at the next release.
    bullets = trial_release(version, released)
    if bullets < entries:
        raise CheckFailed("the trial release shows %d entries, the fragments hold %d" % (bullets, entries))
    print(
        "changelog: %d fragments (%d entries) lint clean; version %s (last release: %s); "
        "trial release renders CHANGELOG.md with %d entries" % (len(fragments), entries, version, last, bullets)
    )


def docs(collection):
    collection = Path(collection).resolve()
    run(
        [
            "antsibull-docs",
            "lint-collection-docs",
            "--plugin-docs",
            "--validate-collection-refs",
            "all",
            "--disallow-unknown-collection-refs",
            str(collection),
        ],
        collection,
    )
    # What the lint covered: every plugin and role ansible-doc finds, none of them failing to load.
    dump_argv = ["ansible-doc", "--metadata-dump", "--no-fail-on-errors", "servicecontrol.platform"]
    dump = json.loads(run(dump_argv, collection).stdout)
    counts = {}
    for kind, plugins in dump["all"].items():
        for name, doc in plugins.items():
            if not name.startswith("servicecontrol.platform."):
                continue
            if "error" in (doc or {}):
                raise CheckFailed("%s %s: %s" % (kind, name, doc["error"]))
            counts[kind] = counts.get(kind, 0) + 1
    if not counts.get("module") or not counts.get("role"):
        raise CheckFailed("ansible-doc found no modules or roles of servicecontrol.platform in %s" % collection)
    print("docs-lint: %s lint clean" % ", ".join("%d %ss" % (n, kind) for kind, n in sorted(counts.items())))


def requirement_lines(path):
    lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def ee(context, collections):
    context, collections = Path(context), Path(collections)
    # 1. The build context ansible-builder created from examples/execution-environment.yml.
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    for needed in ("FROM ", "ansible-galaxy collection install", "introspect"):
        if needed not in containerfile:
            raise CheckFailed("the Containerfile has no %r step:\n%s" % (needed, containerfile))
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    if galaxy != yaml.safe_load((ROOT / "examples" / "requirements.yml").read_text(encoding="utf-8")):
        raise CheckFailed("the context's requirements.yml is not examples/requirements.yml")
    if "servicecontrol.platform" not in [entry["name"] for entry in galaxy["collections"]]:
        raise CheckFailed("the execution environment does not name servicecontrol.platform")
    # 2. The build's own introspection step, run on the artifact installed as the build installs it.
    with tempfile.TemporaryDirectory() as scratch:
        pip, bindep = Path(scratch) / "requirements.txt", Path(scratch) / "bindep.txt"
        introspect = context / "_build" / "scripts" / "introspect.py"
        run(
            [
                sys.executable,
                str(introspect),
                "introspect",
                "--write-pip",
                str(pip),
                "--write-bindep",
                str(bindep),
                str(collections),
            ],
            ROOT,
        )
        python_lines, system_lines = pip.read_text().splitlines(), bindep.read_text().splitlines()
        # 3. The combined Python requirements resolve, to wheels, for the image's Python (its assemble step
        #    pip-installs exactly this file).
        definition = yaml.safe_load((ROOT / "examples" / "execution-environment.yml").read_text(encoding="utf-8"))
        interpreter = definition["dependencies"]["python_interpreter"]["python_path"]
        image_python = re.search(r"(\d+\.\d+)$", interpreter).group(1)
        report = Path(scratch) / "report.json"
        pip_argv = [sys.executable, "-m", "pip", "install", "-q", "--dry-run", "--ignore-installed"]
        pip_argv += ["--only-binary=:all:", "--python-version", image_python, "--implementation", "cp"]
        pip_argv += ["--platform", "manylinux2014_x86_64"]
        run([*pip_argv, "--target", str(Path(scratch) / "target"), "--report", str(report), "-r", str(pip)], ROOT)
        resolved = len(json.loads(report.read_text())["install"])
    ours = "servicecontrol.platform"
    for wanted, found, source in (
        (requirement_lines("meta/ee-requirements.txt"), python_lines, "Python"),
        (requirement_lines("meta/ee-bindep.txt"), system_lines, "system"),
    ):
        for requirement in wanted:
            if not any(line.startswith(requirement) and ours in line for line in found):
                raise CheckFailed(
                    "the build would not install %s requirement %r of %s; it found:\n%s"
                    % (source, requirement, ours, "\n".join(found))
                )
    print(
        "ee: build context (Containerfile, requirements.yml naming %s); the build's introspection of the "
        "installed artifact: %d Python requirements (all of %s's; %d packages as wheels for Python %s), "
        "%d system" % (ours, len(python_lines), ours, resolved, image_python, len(system_lines))
    )


def main(argv):
    checks = {"changelog": changelog, "docs": docs, "ee": ee}
    if not argv or argv[0] not in checks:
        sys.exit(__doc__)
    try:
        checks[argv[0]](*argv[1:])
    except CheckFailed as exc:
        sys.exit("%s: FAILED: %s" % (argv[0], exc))


if __name__ == "__main__":
    main(sys.argv[1:])
