#!/usr/bin/env bash
# The whole test run, as `make test` (and so .ci/run) invokes it.
#
# 1. installs what is missing (Debian packages, the pinned venv, Azurite, dependency collections);
# 2. starts the real services on loopback (tests/services.sh), overlapping their boot with lint;
# 3. runs ruff, ansible-lint, ansible-test sanity, ansible-test units, ansible-test integration, molecule,
#    with the lab's container images built (make images) before molecule, then plain pytest (lab and
#    functional tests, on two workers) beside molecule;
#    beside them, in the background, the newest-ansible-core leg (ansible-core 2.21 on Python 3.13, its own
#    venv and collection tree): sanity, units, the lab end-to-end tests, then the release checks (changelog,
#    docs lint, the installed artifact's demo, the execution environment's build context);
# 4. stops only what it started, whatever happened, and exits non-zero if any stage failed.
#
# Under CI=true an unreachable service fails the run; stages never skip silently.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
export CI=${CI:-false}
# Services this run starts belong to this run only; a developer's running services are reused, never stopped.
export SERVICES_SESSION=test-$$
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections
export PATH=$ROOT/.venv/bin:$ROOT/node_modules/.bin:$PATH
# pytest-ansible (if a developer has it) would build a symlink farm in the tree.
export PYTEST_DISABLE_PLUGIN_AUTOLOAD=1

declare -a SUMMARY=()
FAILED=0
T_START=$SECONDS

LOGS=$ROOT/.build/logs
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.summary

# What each stage really ran, read from its own output, so a stage that ran nothing is visible.
counts() { # name logfile
  local log=$2
  case $1 in
    ansible-lint) grep -oE '[0-9]+ files processed' "$log" | tail -1 ;;
    sanity*) echo "$(grep -c '^Running sanity test' "$log") sanity tests" ;;
    units* | pytest | lab-*) grep -oE '[0-9]+ passed' "$log" | awk '{n += $1} END {print n + 0 " tests passed"}' ;;
    changelog | docs-lint | artifact* | ee) grep -E "^${1%-2.21}: " "$log" | tail -1 | cut -d' ' -f2- ;;
    integration) echo "$(grep -c '^Running .* integration test role' "$log") integration targets" ;;
    molecule) echo "$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -cE 'actions=[0-9]+ .*failed=0') scenarios passed" ;;
    *) echo "" ;;
  esac
}

stage() { # name command...
  local name=$1; shift
  local t0=$SECONDS rc log=$LOGS/$name.log
  printf '\n===== %s =====\n' "$name"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("$(printf '%-14s ok      %4ss  %s' "$name" $((SECONDS - t0)) "$(counts "$name" "$log")")")
  else
    SUMMARY+=("$(printf '%-14s FAILED  %4ss  exit %s  %s' "$name" $((SECONDS - t0)) "$rc" "$(counts "$name" "$log")")")
    FAILED=1
  fi
  return "$rc"
}

# The heading of a leg in the summary: the ansible-core and Python of its venv.
leg_label() {
  local code='import platform, ansible.release as r; print(r.__version__, platform.python_version())'
  read -r core python < <("$1/bin/python" -c "$code" 2>/dev/null)
  printf -- '-- ansible-core %s on Python %s (%s) --\n' "${core:-?}" "${python:-?}" "$2"
}

# One plain closing line over every pytest run of both legs: the 2.21 leg's log is printed after pytest's.
tests_line() {
  local name lines passed=0 failed=0
  for name in units pytest units-2.21 lab-2.21; do
    [ -f "$LOGS/$name.log" ] || continue
    # pytest's own closing lines only: "==== 2 failed, 615 passed, 1 error in 17.20s ===="
    lines=$(grep -E '^=+ .*[0-9]+ (passed|failed|errors?)\b.* in [0-9.]+s' "$LOGS/$name.log")
    passed=$((passed + $(grep -oE '[0-9]+ passed' <<<"$lines" | awk '{n += $1} END {print n + 0}')))
    failed=$((failed + $(grep -oE '[0-9]+ (failed|errors?)' <<<"$lines" | awk '{n += $1} END {print n + 0}')))
  done
  echo "tests: $passed passed, $failed failed"
  # Which tests, from pytest's short summary, so a record that keeps only this summary still says what broke.
  for name in units pytest units-2.21 lab-2.21; do
    [ -f "$LOGS/$name.log" ] || continue
    grep -E '^(FAILED|ERROR) ' "$LOGS/$name.log" | cut -c1-220 | sed "s/^/  $name: /"
  done
}

finish() {
  local rc=$?
  if [ -n "${MOLECULE_PID:-}" ] && kill -0 "$MOLECULE_PID" 2>/dev/null; then
    kill -- -"$MOLECULE_PID" 2>/dev/null || true
    wait "$MOLECULE_PID" 2>/dev/null || true
  fi
  if [ -n "${LEG_PID:-}" ] && kill -0 "$LEG_PID" 2>/dev/null; then
    kill -- -"$LEG_PID" 2>/dev/null || true
    wait "$LEG_PID" 2>/dev/null || true
  fi
  if [ -n "${SERVICES_STARTED:-}" ]; then
    bash tests/services.sh stop || true
  fi
  printf '\n===== summary (%ss) =====\n' $((SECONDS - T_START))
  printf '%s\n' "${SUMMARY[@]}"
  tests_line
  if [ $FAILED -ne 0 ] || [ $rc -ne 0 ]; then
    echo "RESULT: FAILED"
    exit 1
  fi
  echo "RESULT: all stages passed"
}
trap finish EXIT

# --- the newest-ansible-core leg, beside everything below ---------------------------------------
# It shares nothing with the main leg but the services it does not use and the machine-wide demo lock (the
# demo's instances listen on fixed ports). Its own process group, so an interrupted run stops all of it.
LEG_LOG=$LOGS/leg-2.21.log
LEG_SUMMARY=$LOGS/leg-2.21.summary
leg_2_21() {
  SUMMARY=()
  FAILED=0
  if stage install-2.21 make -s collections-2.21; then
    stage sanity-2.21 make -s sanity-2.21
    stage units-2.21 make -s units-2.21
    # The demo's test runs on this leg in artifact-2.21, from the installed artifact; here the rest of the lab's.
    stage lab-2.21 make -s lab-2.21 LAB_E2E="tests/functional/test_instance_role_lab.py tests/functional/test_instance_info_lab.py"
    stage changelog make -s changelog-lint
    stage docs-lint make -s docs-lint
    stage artifact-2.21 make -s artifact-2.21
    stage ee make -s ee
  fi
  { leg_label "$ROOT/.build/venv-2.21" "newest leg, beside the main one"; printf '%s\n' "${SUMMARY[@]}"; } >"$LEG_SUMMARY"
  return "$FAILED"
}
set -m
leg_2_21 </dev/null >"$LEG_LOG" 2>&1 &
LEG_PID=$!
set +m

# --- 1. install -------------------------------------------------------------------------------
stage install make -s system-deps venv node_modules collections || exit 1

# --- 2. services (boot overlaps lint) ---------------------------------------------------------
SERVICES_STARTED=1
bash tests/services.sh start >"$ROOT/.build/services-start.log" 2>&1 &
SERVICES_PID=$!

# --- 3. stages --------------------------------------------------------------------------------
stage ruff make -s ruff
stage ansible-lint make -s ansible-lint

# Wait here, in the main shell: stages run in a pipeline subshell, which cannot wait for this shell's job.
wait $SERVICES_PID
SERVICES_RC=$?

check_services() {
  cat "$ROOT/.build/services-start.log"
  if [ "$SERVICES_RC" -ne 0 ]; then
    echo "A required service is not reachable (see above)."
    # Locally, a developer may run only what works; CI must never pass without the services.
    [ "$CI" = "true" ] && return 1
    echo "CI is not true: continuing; tests needing the missing service will fail or report it."
  fi
  return 0
}
stage services check_services

stage sanity make -s sanity
stage units make -s units
stage integration make -s integration
# The lab's container images (podman), which molecule (instance_podman) and pytest run; cached, so a warm
# run takes seconds.
stage images make -s images
# Molecule's scenarios and pytest's lab and end-to-end tests spend most of their time waiting on instances:
# molecule runs beside pytest (its own ports, 36000-38999), and pytest runs its tests on two workers.
# Both run on one collection tree, built once here (make molecule/pytest would each rebuild it).
stage tree make -s collections
MOLECULE_SUMMARY=$LOGS/molecule.summary
set -m
(
  SUMMARY=()
  FAILED=0
  stage molecule make -s molecule-in-tree >/dev/null
  printf '%s\n' "${SUMMARY[@]}" >"$MOLECULE_SUMMARY"
  exit "$FAILED"
) </dev/null &
MOLECULE_PID=$!
set +m
stage pytest make -s pytest-in-tree PYTEST_ARGS="-p xdist -n 2 --dist load"
wait "$MOLECULE_PID" || FAILED=1
printf '\n===== molecule (ran beside pytest; %s) =====\n' "$LOGS/molecule.log"
cat "$LOGS/molecule.log"
if [ -s "$MOLECULE_SUMMARY" ]; then
  mapfile -t -O "${#SUMMARY[@]}" SUMMARY <"$MOLECULE_SUMMARY"
else
  SUMMARY+=("molecule       FAILED  (no summary: see $LOGS/molecule.log)")
  FAILED=1
fi

# --- 4. the newest-ansible-core leg: its log, then its rows in the summary ------------------------
wait "$LEG_PID"
LEG_RC=$?
printf '\n===== leg 2.21 (ran beside the stages above; %s) =====\n' "$LEG_LOG"
cat "$LEG_LOG"
[ "$LEG_RC" -eq 0 ] || FAILED=1
SUMMARY=("$(leg_label "$ROOT/.venv" "main leg")" "${SUMMARY[@]}")
if [ -s "$LEG_SUMMARY" ]; then
  mapfile -t -O "${#SUMMARY[@]}" SUMMARY <"$LEG_SUMMARY"
else
  SUMMARY+=("leg 2.21       FAILED  (no summary: see $LEG_LOG)")
  FAILED=1
fi
