"""Every citation of the reference facts resolves inside the repository.

Code, docs and the lab cite facts as ``docs/reference/<file>.md §N``; this checks that each cited file and
section exists, and that nothing points at a path outside the repository (a fresh clone has only itself).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"
CITATION = re.compile(r"docs/reference/([\w-]+\.md)((?:\s*(?:,|/|-|\u2013|and|to)?\s*§\d+(?:\.\d+)*)*)")
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
OUTSIDE = re.compile(r"\.\./shared/|shared/reference|servicecontrol-facts\.md")
SCANNED = ("plugins/", "lab/", "roles/", "tests/", "docs/", "demo/", "benchmarks/", "README.md", "Makefile")


def tracked_files():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    names = listed.stdout.split() if listed.returncode == 0 else []
    if not names:  # not a git checkout of its own: walk the tree
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    for name in names:
        path = ROOT / name
        if (
            name.startswith(SCANNED)
            and path.suffix in (".py", ".md", ".yml", ".yaml", ".sh", ".ps1", "")
            and path.is_file()
        ):
            if "/output/" in name or name.startswith("tests/output"):
                continue
            yield name, path


def sections_of(document):
    """The section numbers a reference file has, from headings such as ``### 2.12 Monitoring``."""
    found = set()
    for line in document.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#{1,6}\s+§?(\d+(?:\.\d+)*)[.\s]", line)
        if match:
            found.add(match.group(1))
    return found


def test_the_reference_files_exist_and_have_sections():
    for name in ("README.md", "servicecontrol.md", "transports.md"):
        assert (REFERENCE / name).is_file(), name
    assert {"1.1", "2.1", "5", "6"} <= sections_of(REFERENCE / "servicecontrol.md")
    assert {"0", "1", "1.3", "9", "10.1"} <= sections_of(REFERENCE / "transports.md")


def test_every_citation_resolves_to_a_section_inside_the_repository():
    sections = {}
    unresolved, checked = [], 0
    for name, path in tracked_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in CITATION.finditer(line):
                document = REFERENCE / match.group(1)
                if not document.is_file():
                    unresolved.append("%s:%d cites %s, which does not exist" % (name, number, match.group(1)))
                    continue
                known = sections.setdefault(document, sections_of(document))
                for section in SECTION.findall(match.group(2)):
                    checked += 1
                    if section not in known:
                        unresolved.append(
                            "%s:%d cites %s §%s, which has no such section" % (name, number, document.name, section)
                        )
    assert not unresolved, "\n".join(unresolved)
    assert checked > 20, "expected the code, lab and docs to cite the reference; found %d section citations" % checked


def test_nothing_cites_a_path_outside_the_repository():
    outside = []
    for name, path in tracked_files():
        if name == "tests/functional/test_citations.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
            if OUTSIDE.search(line):
                outside.append("%s:%d: %s" % (name, number, line.strip()))
    assert not outside, "\n".join(outside)
