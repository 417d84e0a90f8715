#!/usr/bin/env bash
# The released artifact, used the way users use it (`make artifact`, `make artifact-2.21`):
#
#   tests/artifact.sh install DIR   build the tarball, install it into the empty collections path DIR, verify it
#   tests/artifact.sh demo          install into .build/artifact/collections, then run the lab DR demo from it
#
# 1. `ansible-galaxy collection build` of the collection tree make copies (the files git knows, so a dirty
#    checkout builds what a clean one would); galaxy.yml's build_ignore decides what ships.
# 2. An empty collections path, with the dependency collections examples/requirements.yml names, and theirs,
#    put beside it from the `ansible` package on PyPI (Galaxy, where users get them, is unreachable here).
# 3. `ansible-galaxy collection install --offline` of the tarball: the resolver must find every dependency
#    galaxy.yml declares among them, as it would on Galaxy. Then `ansible-galaxy collection verify --offline`.
# 4. `make demo`'s repository (examples/lab) and the lab (neither ships in the artifact), copied into a project
#    directory outside any collection, and run with only the installed path by the demo's own test: the
#    playbook, roles, modules and filters it names (FQCN) all come from the installed artifact.
#
# Environment (make passes it): VENV (ansible-galaxy, ansible-playbook), DEPS (the unpacked `ansible` wheel),
# COLLECTION (the tree to build from), BUILD (.build).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/.build}
VENV=${VENV:-$ROOT/.venv}
DEPS=${DEPS:-$BUILD/deps}
COLLECTION=${COLLECTION:-$BUILD/collections/ansible_collections/servicecontrol/platform}
PYTHON=$VENV/bin/python
# Only the path given: not ~/.ansible/collections, nor collections inside site-packages (an `ansible` install).
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1

die() { echo "artifact: FAILED: $*" >&2; exit 1; }

# The dependency collections to put beside the artifact: those examples/requirements.yml names (other than
# this collection), and, as Galaxy would, the dependencies their MANIFEST.json declares, transitively.
dependency_closure() {
  "$PYTHON" - "$ROOT/examples/requirements.yml" "$DEPS/unpacked/ansible_collections" <<'EOF'
import json
import sys
from pathlib import Path

import yaml

requirements, bundle = Path(sys.argv[1]), Path(sys.argv[2])
wanted = [c["name"] for c in yaml.safe_load(requirements.read_text())["collections"]]
todo = [name for name in wanted if name != "servicecontrol.platform"]
seen = []
while todo:
    name = todo.pop(0)
    if name in seen:
        continue
    manifest = bundle / name.replace(".", "/") / "MANIFEST.json"
    if not manifest.is_file():
        sys.exit("%s is not in the ansible package (%s)" % (name, bundle))
    seen.append(name)
    todo.extend(json.loads(manifest.read_text())["collection_info"]["dependencies"] or {})
print("\n".join(seen))
EOF
}

install() { # DIR: a fresh collections path holding the artifact and its dependencies
  local dest=$1 tarball listing names name
  [ -f "$COLLECTION/galaxy.yml" ] || die "no collection tree at $COLLECTION (make collections)"
  rm -rf "$BUILD/dist" "$dest" && mkdir -p "$BUILD/dist" "$dest"
  "$VENV/bin/ansible-galaxy" collection build --force --output-path "$BUILD/dist" "$COLLECTION" >/dev/null
  tarball=$(ls "$BUILD"/dist/servicecontrol-platform-*.tar.gz)
  listing=$(tar -tzf "$tarball")
  # What ships: the collection's content, none of the development, test or lab material.
  if grep -E '^(lab|tests|demo|benchmarks|requirements|extensions/molecule|\.build|\.venv)/|^Makefile$' <<<"$listing"; then
    die "development files in $tarball (see galaxy.yml build_ignore)"
  fi
  for required in MANIFEST.json FILES.json meta/runtime.yml meta/execution-environment.yml meta/ee-requirements.txt \
    meta/ee-bindep.txt README.md changelogs/changelog.yaml; do
    grep -qx "$required" <<<"$listing" || die "$required is missing from $tarball"
  done
  names=$(dependency_closure) || die "dependency collections"
  for name in $names; do
    mkdir -p "$dest/ansible_collections/${name%%.*}"
    cp -r "$DEPS/unpacked/ansible_collections/${name/.//}" "$dest/ansible_collections/${name/.//}"
  done
  ANSIBLE_COLLECTIONS_PATH=$dest "$VENV/bin/ansible-galaxy" collection install --offline -p "$dest" "$tarball"
  ANSIBLE_COLLECTIONS_PATH=$dest "$VENV/bin/ansible-galaxy" collection verify --offline servicecontrol.platform
  echo "$(basename "$tarball") $(grep -cv '/$' <<<"$listing") $(echo "$names" | wc -w)" >"$dest/.artifact"
}

demo() {
  local dest=$BUILD/artifact/collections project=$BUILD/artifact/project log=$BUILD/artifact/demo.log
  local tarball files deps found passed
  install "$dest"
  read -r tarball files deps <"$dest/.artifact"
  export ANSIBLE_COLLECTIONS_PATH=$dest
  # The collection ansible resolves is the installed one, and only that one.
  found=$("$VENV/bin/ansible-galaxy" collection list servicecontrol.platform --format json \
    | "$PYTHON" -c 'import json, sys; print(" ".join(json.load(sys.stdin)))')
  [ "$found" = "$dest/ansible_collections" ] || die "servicecontrol.platform resolved from '$found', not $dest"
  # A user's project: `make demo`'s infrastructure-as-code repository (examples/lab, without its state), the lab
  # it starts instances from, and the test that runs it (tests/functional/test_demo.py: dr-setup.yml, again
  # with nothing changed, failures and audits reaching the backups, dr-stop.yml). An empty pytest.ini keeps
  # pytest from reading the checkout's configuration.
  rm -rf "$project" && mkdir -p "$project/examples" "$project/tests/functional"
  cp -r "$COLLECTION/examples/lab" "$project/examples/lab" && rm -rf "$project/examples/lab/.state" "$project/examples/lab/dr-report"
  cp -r "$COLLECTION/lab" "$project/lab"
  cp "$COLLECTION/tests/functional/test_demo.py" "$project/tests/functional/"
  printf '[pytest]\n' >"$project/pytest.ini"
  (cd "$project" && PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$PYTHON" -m pytest -p no:cacheprovider -v tests/functional/test_demo.py) \
    2>&1 | tee "$log" || die "the demo failed with the installed collection (log: $log)"
  passed=$(grep -oE '[0-9]+ passed' "$log" | tail -1)
  echo "artifact: $tarball ($files files) installed beside $deps dependency collections; make demo's test" \
    "(test_demo.py) on ansible-core $("$PYTHON" -c 'import ansible.release as r; print(r.__version__)') from it: $passed"
}

case ${1:-} in
  install) install "${2:?tests/artifact.sh install DIR}" ;;
  demo) demo ;;
  *) echo "usage: tests/artifact.sh install DIR | demo" >&2; exit 2 ;;
esac
