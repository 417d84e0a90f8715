"""Build the lab's stand-ins for Particular's container images with podman (``make images``).

    python -m lab.containers.build [--output DIR] [--version 6.19.2 ...] [--force] [--check]

No container registry is reachable here, so the images are made locally, in two steps:

1. a base image: a Debian root filesystem (``debootstrap --variant=minbase --include=python3``, from the
   Debian mirror apt uses here, or ``LAB_DEBIAN_MIRROR``), trimmed, with the users of the real images
   (``app`` 1654 as in .NET's images, ``ravendb`` 999) and the lab's runtime Python dependencies (pika,
   psycopg; wheels at the versions pinned in requirements/dev.txt) unpacked into it, then
   ``podman import``;
2. one image per Containerfile in lab/containers, ``FROM`` that base, with the lab copied in, tagged like
   Particular's (``particular/servicecontrol:6.19.2`` as ``docker.io/...`` and ``ghcr.io/...``).

Both steps are cached under ``--output`` (default .build/images) as ``podman save`` archives named by a
content hash: of the base recipe (this file, the Debian suite, the pins) for the base, and of that plus the
lab's sources and the Containerfiles for the images. A run whose images are in podman's storage with the
current hash (label ``servicecontrol.lab.content-hash``) does nothing; one that finds the archive loads
it; only a changed lab rebuilds the images (seconds) and only a changed recipe rebuilds the base.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LAB = REPO / "lab"
CONTAINERS_CONF = HERE / "containers.conf"
DEFAULT_OUTPUT = REPO / ".build" / "images"
DEFAULT_VERSIONS = ("6.19.2",)
REGISTRIES = ("docker.io", "ghcr.io")
HASH_LABEL = "servicecontrol.lab.content-hash"
BASE_REPOSITORY = "localhost/servicecontrol-lab/base"

SUITE = "bookworm"
DEBOOTSTRAP_INCLUDE = ("python3",)
#: What the lab imports beyond the standard library (lab/transports); versions come from requirements/dev.txt.
REQUIREMENTS = ("pika", "psycopg[binary]")
PINNED = ("pika", "psycopg", "psycopg-binary", "typing-extensions")
#: Trimmed from the root filesystem: apt's caches and lists, documentation, translations.
TRIM = ("var/cache/apt", "var/lib/apt/lists", "usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale")
USERS = (("app", 1654, "/home/app"), ("ravendb", 999, "/var/lib/ravendb"))
#: The environment the real images inherit from .NET's base image, and what the lab needs to run.
BASE_ENV = (
    "DOTNET_RUNNING_IN_CONTAINER=true",
    "APP_UID=1654",
    "PYTHONPATH=/opt/servicecontrol-lab",
    "PYTHONDONTWRITEBYTECODE=1",
    "PYTHONUNBUFFERED=1",
)
#: Seconds one podman or debootstrap step may take before the build gives up.
STEP_TIMEOUT = 900


@dataclass(frozen=True)
class Image:
    name: str
    title: str

    @property
    def containerfile(self) -> str:
        """lab/containers/Containerfile.<name without the owner>, like Particular's one Dockerfile per image."""
        return "Containerfile.%s" % self.name.split("/")[-1]

    def refs(self, version: str) -> list[str]:
        return ["%s/%s:%s" % (registry, self.name, version) for registry in REGISTRIES]


IMAGES = (
    Image("particular/servicecontrol", "ServiceControl"),
    Image("particular/servicecontrol-audit", "ServiceControl.Audit"),
    Image("particular/servicecontrol-monitoring", "ServiceControl.Monitoring"),
    Image("particular/servicecontrol-ravendb", "ServiceControl.RavenDB"),
)


class BuildError(Exception):
    pass


# ---------------------------------------------------------------- podman


def podman_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every podman call of the project runs with: CONTAINERS_CONF names containers.conf."""
    env = dict(os.environ if environ is None else environ)
    env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(*args: str, check: bool = True, timeout: float = STEP_TIMEOUT, **kwargs) -> subprocess.CompletedProcess:
    completed = subprocess.run(  # noqa: S603 - fixed argv
        ["podman", *args],  # noqa: S607 - podman from PATH, like any tool
        env=podman_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )
    if check and completed.returncode != 0:
        raise BuildError("podman %s failed (%s): %s" % (" ".join(args[:2]), completed.returncode, completed.stderr))
    return completed


def image_label(ref: str, label: str = HASH_LABEL) -> str | None:
    completed = podman("image", "inspect", "--format", "{{index .Config.Labels \"%s\"}}" % label, ref, check=False)
    if completed.returncode != 0:
        return None
    value = completed.stdout.strip()
    return None if value in ("", "<no value>") else value


def image_id(ref: str) -> str | None:
    completed = podman("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    if completed.returncode != 0:
        return None
    return completed.stdout.strip() or None


def image_exists(ref: str) -> bool:
    return podman("image", "exists", ref, check=False).returncode == 0


# ---------------------------------------------------------------- content hashes


def pins(requirements: Path | None = None) -> list[str]:
    """The pinned versions of the runtime packages, read from requirements/dev.txt."""
    path = requirements or REPO / "requirements" / "dev.txt"
    wanted = {name.lower() for name in PINNED}
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, _version = line.strip().partition("==")
        if sep and re.sub(r"[-_.]+", "-", name.lower()) in wanted:
            found.append(line.strip())
    if len(found) != len(PINNED):
        raise BuildError("requirements/dev.txt must pin %s (found %s)." % (", ".join(PINNED), ", ".join(found)))
    return sorted(found)


def base_hash() -> str:
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    for part in (SUITE, *DEBOOTSTRAP_INCLUDE, *pins()):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


def lab_sources() -> list[Path]:
    """The lab files the images are made of (and hashed by): no tests, caches or documentation."""
    files = []
    for path in sorted(LAB.rglob("*")):
        relative = path.relative_to(LAB)
        if not path.is_file() or relative.parts[0] == "tests":
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix in (".pyc", ".md"):
            continue
        files.append(path)
    return files


def content_hash(versions: tuple[str, ...] = DEFAULT_VERSIONS) -> str:
    """What the images depend on: the base recipe, the versions, every lab source and Containerfile."""
    digest = hashlib.sha256(base_hash().encode())
    for version in versions:
        digest.update(b"version\0" + version.encode() + b"\0")
    for path in lab_sources():
        digest.update(str(path.relative_to(LAB)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def all_refs(versions: tuple[str, ...]) -> list[str]:
    return [ref for version in versions for image in IMAGES for ref in image.refs(version)]


def up_to_date(versions: tuple[str, ...] = DEFAULT_VERSIONS, expected: str | None = None) -> bool:
    expected = expected or content_hash(versions)
    return all(image_label(ref) == expected for ref in all_refs(versions))


# ---------------------------------------------------------------- the base image


def debian_mirror() -> str:
    """The Debian archive apt uses on this machine (deb822 .sources or sources.list), or LAB_DEBIAN_MIRROR."""
    if os.environ.get("LAB_DEBIAN_MIRROR"):
        return os.environ["LAB_DEBIAN_MIRROR"]
    apt = Path("/etc/apt")
    candidates = [*sorted(apt.glob("sources.list.d/*.sources")), apt / "sources.list"]
    candidates += sorted(apt.glob("sources.list.d/*.list"))
    for path in candidates:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.MULTILINE))
            if "deb" in fields.get("Types", "").split() and SUITE in fields.get("Suites", "").split():
                for uri in fields.get("URIs", "").split():
                    if not uri.rstrip("/").endswith("-security"):
                        return uri
        for line in text.splitlines():
            words = [w for w in line.split() if not w.startswith("[")]
            if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                return words[1]
    raise BuildError(
        "No Debian %s archive in /etc/apt; set LAB_DEBIAN_MIRROR to the archive debootstrap should use." % SUITE
    )


def _python_dir(rootfs: Path) -> Path:
    for candidate in sorted((rootfs / "usr" / "lib").glob("python3.*")):
        if (candidate / "os.py").is_file():
            return candidate
    raise BuildError("debootstrap made no Python 3 standard library in %s" % rootfs)


def _add_users(rootfs: Path) -> None:
    etc = rootfs / "etc"
    for name, uid, home in USERS:
        with (etc / "passwd").open("a", encoding="utf-8") as passwd:
            passwd.write("%s:x:%d:%d::%s:/usr/sbin/nologin\n" % (name, uid, uid, home))
        with (etc / "group").open("a", encoding="utf-8") as group:
            group.write("%s:x:%d:\n" % (name, uid))
        home_dir = rootfs / home.lstrip("/")
        home_dir.mkdir(parents=True, exist_ok=True)
        os.chown(home_dir, uid, uid)


def _install_wheels(rootfs: Path, work: Path) -> list[str]:
    """Download the runtime packages as wheels for the image's Python and unpack them into its site dir."""
    python_dir = _python_dir(rootfs)
    version = python_dir.name.removeprefix("python")
    wheels = work / "wheels"
    wheels.mkdir()
    machine = os.uname().machine
    platforms = ["manylinux_2_28_%s" % machine, "manylinux_2_17_%s" % machine, "manylinux2014_%s" % machine]
    abi = "cp%s" % version.replace(".", "")
    command = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", str(wheels)]
    command += ["--only-binary=:all:", "--python-version", version, "--implementation", "cp"]
    command += ["--abi", abi, "--abi", "abi3", "--abi", "none"]
    for platform in platforms:
        command += ["--platform", platform]
    command += ["-c", str(REPO / "requirements" / "dev.txt"), *REQUIREMENTS]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise BuildError("pip download of %s failed: %s" % (" ".join(REQUIREMENTS), completed.stderr))
    site = rootfs / "usr" / "local" / "lib" / python_dir.name / "dist-packages"
    site.mkdir(parents=True, exist_ok=True)
    names = []
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)  # wheels pip has just downloaded, at the pinned versions
        names.append(wheel.name)
    return names


def build_base(output: Path, log) -> str:
    """The base image ``localhost/servicecontrol-lab/base:<hash>``: from podman's storage, the archive, or anew."""
    digest = base_hash()[:16]
    ref = "%s:%s" % (BASE_REPOSITORY, digest)
    archive = output / ("base-%s.tar" % digest)
    if image_exists(ref):
        log("base image %s is in podman's storage" % ref)
        return ref
    if archive.is_file():
        t0 = time.monotonic()
        podman("load", "-q", "-i", str(archive))
        log("base image loaded from %s (%.0f s)" % (archive.name, time.monotonic() - t0))
        return ref
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed (make system-deps installs it).")
    if os.geteuid() != 0:
        raise BuildError("debootstrap and podman need root here.")
    mirror = debian_mirror()
    with tempfile.TemporaryDirectory(prefix="base-", dir=output) as tmp:
        work = Path(tmp)
        rootfs = work / "rootfs"
        t0 = time.monotonic()
        command = ["debootstrap", "--variant=minbase", "--include=%s" % ",".join(DEBOOTSTRAP_INCLUDE), SUITE]
        completed = subprocess.run(  # noqa: S603 - fixed argv
            [*command, str(rootfs), mirror], capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False
        )
        if completed.returncode != 0:
            raise BuildError("debootstrap failed (%s): %s" % (completed.returncode, completed.stdout[-3000:]))
        log("debootstrap %s: %.0f s" % (SUITE, time.monotonic() - t0))
        for relative in TRIM:
            target = rootfs / relative
            if target.is_dir():
                shutil.rmtree(target)
                target.mkdir()
        (rootfs / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        _add_users(rootfs)
        wheels = _install_wheels(rootfs, work)
        log("unpacked %s" % ", ".join(wheels))
        t0 = time.monotonic()
        changes = []
        for assignment in BASE_ENV:
            changes += ["--change", "ENV %s" % assignment]
        changes += ["--change", 'CMD ["/bin/bash"]']
        tar = subprocess.Popen(  # noqa: S603 - fixed argv
            ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],  # noqa: S607
            stdout=subprocess.PIPE,
        )
        try:
            podman("import", "-q", *changes, "-", ref, stdin=tar.stdout)
        finally:
            tar.stdout.close()
            tar.wait(timeout=STEP_TIMEOUT)
        if tar.returncode != 0:
            raise BuildError("tar of the root filesystem failed (%s)" % tar.returncode)
        log("podman import: %.0f s" % (time.monotonic() - t0))
    _save(archive, [ref], "base-*.tar")
    return ref


# ---------------------------------------------------------------- the images


def _stage_context(context: Path) -> None:
    if context.exists():
        shutil.rmtree(context)
    (context / "lab").mkdir(parents=True)
    for path in lab_sources():
        relative = path.relative_to(LAB)
        if relative.parts[0] == "containers":
            continue
        target = context / "lab" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    shutil.copytree(HERE / "files", context / "files")
    for path in (context / "files").iterdir():
        path.chmod(0o755)


def _save(archive: Path, refs: list[str], pattern: str) -> None:
    partial = archive.with_suffix(".partial")
    podman("save", "-q", "--multi-image-archive", "--format", "docker-archive", "-o", str(partial), *refs)
    partial.replace(archive)
    for old in archive.parent.glob(pattern):
        if old != archive:
            old.unlink()


def _remove_superseded(old_ids: set[str], keep_base: str) -> None:
    """Drop images these tags pointed at before, and older bases, unless a container still uses them."""
    for old in old_ids:
        podman("rmi", old, check=False)
    listing = podman("images", "--format", "{{.Repository}}:{{.Tag}}", BASE_REPOSITORY, check=False)
    for ref in listing.stdout.split():
        if ref != keep_base:
            podman("rmi", ref, check=False)


def build(output: Path, versions: tuple[str, ...], force: bool, log) -> str:
    """Make sure every image is in podman's storage with the current content hash; return how it got there."""
    expected = content_hash(versions)
    refs = all_refs(versions)
    if not force and up_to_date(versions, expected):
        return "up to date in podman's storage"
    archive = output / ("images-%s.tar" % expected[:16])
    if not force and archive.is_file():
        podman("load", "-q", "-i", str(archive))
        if up_to_date(versions, expected):
            return "loaded from %s" % archive
    base = build_base(output, log)
    old_ids = {i for i in (image_id(ref) for ref in refs) if i}
    context = output / "context"
    _stage_context(context)
    for version in versions:
        for image in IMAGES:
            t0 = time.monotonic()
            # docker format: OCI images have no HEALTHCHECK. No intermediate images: they would pile up.
            command = ["build", "-q", "--format", "docker", "--pull=never", "--layers=false"]
            command += ["-f", str(HERE / image.containerfile)]
            command += ["--build-arg", "BASE=%s" % base, "--build-arg", "VERSION=%s" % version]
            command += ["--label", "%s=%s" % (HASH_LABEL, expected)]
            command += ["--label", "org.opencontainers.image.version=%s" % version]
            command += ["--label", "org.opencontainers.image.title=%s (lab stand-in)" % image.title]
            for ref in image.refs(version):
                command += ["-t", ref]
            podman(*command, str(context))
            log("built %s (%.0f s)" % (image.refs(version)[0], time.monotonic() - t0))
    shutil.rmtree(context)
    _save(archive, refs, "images-*.tar")
    new_ids = {image_id(ref) for ref in refs}
    _remove_superseded(old_ids - new_ids, base)
    return "built"


@contextlib.contextmanager
def _machine_lock():
    """One build at a time on this machine: podman's storage is shared by every checkout."""
    path = Path(tempfile.gettempdir()) / "servicecontrol-lab-images.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.containers.build", description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="cache directory (default .build/images)")
    parser.add_argument("--version", action="append", help="ServiceControl version to tag (default 6.19.2)")
    parser.add_argument("--force", action="store_true", help="rebuild the images even when cached")
    parser.add_argument("--check", action="store_true", help="only report: exit 0 when up to date, 1 otherwise")
    args = parser.parse_args(argv)
    versions = tuple(args.version or DEFAULT_VERSIONS)
    if shutil.which("podman") is None:
        print("podman is not installed (make system-deps installs it).", file=sys.stderr)
        return 2
    if args.check:
        current = up_to_date(versions)
        print("images are %s" % ("up to date" if current else "missing or stale: run make images"))
        return 0 if current else 1
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()

    def log(message: str) -> None:
        print("images: %s" % message, flush=True)

    try:
        with _machine_lock():
            how = build(output, versions, args.force, log)
    except (BuildError, subprocess.TimeoutExpired) as exc:
        print("images: %s" % exc, file=sys.stderr)
        return 1
    names = [image.refs(version)[0] for version in versions for image in IMAGES]
    log("%s: %s (%.0f s)" % (how, " ".join(names), time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
