"""Benchmark: the ingestion-pause window of `replace_error_instance` against what it cannot do without.

For each scenario (strategy `new_name`, where the new instance is prepared before the pause, or `keep_name`,
where it is created during it; pre-clean off or on), on the lab (Learning transport, temporary directories,
free ports), the way tests/functional/replacement_support.py builds it:

1. a fresh lab topology (an Error instance, an Audit instance) set up with `dr_setup`, N failed messages in G
   failure groups (one exception type per group) ingested, a lab endpoint that processes every retry;
2. `ansible-playbook servicecontrol.platform.replace_error_instance -e replace_error_instance_confirm=true`;
   the window is read from its JSON report (`state.phases.pause.started` to `state.phases.resume.ingesting`),
   with the time of each phase and of each task inside the window (benchmarks/callback_plugins/task_times.py);
3. the baseline, on an equivalent fresh lab topology loaded with as many failed messages as were unresolved at
   the pause (`state.snapshot.unresolved_ids`): (a) `failed_messages` with the same rules and default action
   on the paused Error instance, (b) one restart of it with the instance role (`instance_state: restarted`),
   and for keep_name (c) the creation and start of the new instance with the instance role (the old one
   stopped first, untimed, as the playbook does). Each is timed from the controller's clock between marker
   tasks, so ansible-playbook's start-up is not in the baseline.

Prints window, baseline, ratio (target: at most 1.2x) and where the window's time goes. Figures, not pass/fail.

    .venv/bin/python benchmarks/replace_pause_window.py                      # 2000 messages, 20 groups
    .venv/bin/python benchmarks/replace_pause_window.py --count 500 --groups 10 --scenarios new_name:off
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "functional")]

from drain_failed_messages import count, wait_for  # noqa: E402
from functional_support import LOCAL_PLAYBOOK  # noqa: E402
from replacement_support import Lab  # noqa: E402

from lab.endpoint import EndpointIdentity, EndpointSimulator, FailureSpec, RetryPolicy  # noqa: E402
from lab.transports import open_lab_transport  # noqa: E402

RULES = [{"name": "first ten groups: archive", "action": "archive", "group_title": "Bench.Exception0*"}]
DEFAULT_ACTION = "retry"
# The phases inside the window, in order, by the state's timestamps.
WINDOW_PHASES = [
    ("pause: ingestion off, restart, probe, snapshot", ("pause", "started"), ("drain", "started")),
    ("drain", ("drain", "started"), ("drain", "ended")),
    ("the pause proven: the rest of the probe check", ("drain", "ended"), ("pause", "verified")),
    # resume.started, not replace.ended: keep_name runs record replace.old_stopped, and replace.ended may be absent.
    ("replace: stop the old / create the new instance", ("pause", "verified"), ("resume", "started")),
    ("resume: ingestion on for the new instance, restart", ("resume", "started"), ("resume", "ingesting")),
]


def timestamp(text):
    moment = dt.datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).timestamp()


def run_playbook(lab, playbook, variables, label):
    """ansible-playbook on localhost with the task-times callback; returns (wall seconds, task times, output)."""
    vars_file = lab.tmp / ("vars-%s.json" % label)
    vars_file.write_text(json.dumps(variables))
    times_file = lab.tmp / ("tasks-%s.jsonl" % label)
    environment = dict(
        os.environ,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="task_times",
        BENCH_TASK_TIMES=str(times_file),
    )
    environment.setdefault(
        "ANSIBLE_COLLECTIONS_PATH", "%s:%s" % (ROOT / ".build" / "devlink", ROOT / ".build" / "collections")
    )
    argv = [
        *LOCAL_PLAYBOOK,
        "-e",
        "@%s" % vars_file,
        str(playbook),
    ]
    started = time.monotonic()
    completed = subprocess.run(argv, env=environment, capture_output=True, text=True, check=False, timeout=3600)
    wall = time.monotonic() - started
    output = completed.stdout + completed.stderr
    (lab.tmp / ("%s.log" % label)).write_text(output)
    tasks = [json.loads(line) for line in times_file.read_text().splitlines()] if times_file.exists() else []
    return completed.returncode, wall, tasks, output


class Endpoint:
    """The lab endpoint: sends the failures, and processes every retry in the background (audited)."""

    def __init__(self, lab):
        self.lab = lab
        self.stop = threading.Event()
        self.handled = 0
        self.thread = threading.Thread(target=self._handle, daemon=True)

    def _simulator(self, seed):
        simulator = EndpointSimulator(
            open_lab_transport(self.lab.transport_type, self.lab.connection_string),
            EndpointIdentity(self.lab.endpoint, machine="bench"),
            error_queue=self.lab.error_queue,
            audit_queue=self.lab.audit_queue,
            seed=seed,
        )
        simulator.setup()
        return simulator

    def fail(self, messages, groups):
        simulator = self._simulator(1)
        for n in range(messages):
            simulator.fail(
                1, "Sales.Messages.PlaceOrder", FailureSpec(exception_type="Bench.Exception%02d" % (n % groups))
            )

    def _handle(self):
        handler = self._simulator(2)
        while not self.stop.is_set():
            self.handled += handler.handle_messages(RetryPolicy(), idle_timeout=1.0).processed

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=60)


def fresh_lab(work, label):
    tmp = work / label
    (tmp / "transport").mkdir(parents=True)
    return Lab(tmp, "LearningTransport", str(tmp / "transport"), uuid.uuid4().hex[:6])


def set_up(lab, endpoint, messages, groups):
    """dr_setup on the fresh topology, then the failures, waited for until the Error instance holds them all."""
    code, _wall, _tasks, output = run_playbook(
        lab, "servicecontrol.platform.dr_setup", lab.variables(dr_setup_probe=False), "dr-setup"
    )
    if code != 0:
        raise SystemExit("dr_setup failed:\n%s" % output[-4000:])
    started = time.monotonic()
    endpoint.fail(messages, groups)
    wait_for(lambda: count(lab.url("old"), "unresolved") == messages, 3600, interval=1)
    return time.monotonic() - started


def replacement_variables(lab, strategy, preclean, pause_check):
    variables = lab.variables(
        replace_error_instance_confirm=True,
        replace_error_instance_strategy=strategy,
        replace_error_instance_preclean=preclean,
        replace_error_instance_rules=RULES,
        replace_error_instance_default_action=DEFAULT_ACTION,
        replace_error_instance_pause_check_seconds=pause_check,
    )
    if strategy == "keep_name":
        variables["replace_error_instance_new"].pop("name")  # keep_name keeps the InstanceName
    return variables


def measure_replacement(work, strategy, preclean, args):
    lab = fresh_lab(work, "%s-preclean-%s" % (strategy, "on" if preclean else "off"))
    try:
        with Endpoint(lab) as endpoint:
            ingest = set_up(lab, endpoint, args.count, args.groups)
            code, wall, tasks, output = run_playbook(
                lab,
                args.playbook,
                replacement_variables(lab, strategy, preclean, args.pause_check),
                "replace",
            )
        report_file = lab.report / "replace-error-instance.json"
        if report_file.exists():
            state = json.loads(report_file.read_text())["state"]
            source = "JSON report"
        else:  # the run failed after the window (e.g. in the reconciliation): the state file holds the same record
            state = json.loads((lab.report / "replace-error-instance.state.json").read_text())
            source = "state file (the playbook failed; no JSON report)"
        phases = state["phases"]
        if "ingesting" not in phases.get("resume", {}):
            raise SystemExit("the replacement did not reach the new instance ingesting:\n%s" % output[-6000:])
        return {
            "strategy": strategy,
            "preclean": preclean,
            "returncode": code,
            "failure": "" if code == 0 else output[-3000:],
            "source": source,
            "ingest": ingest,
            "wall": wall,
            "state": state,
            "remaining": len(state["snapshot"]["unresolved_ids"]),
            "window": timestamp(phases["resume"]["ingesting"]) - timestamp(phases["pause"]["started"]),
            "tasks": tasks,
        }
    finally:
        lab.stop_all()


def baseline_playbook(lab, strategy):
    """The baseline as one play: pause (untimed), drain, restart, and for keep_name stop (untimed) and create."""
    old, instance = lab.old, "servicecontrol.platform.instance"

    def mark(name):
        return {
            "name": "mark %s" % name,
            "ansible.builtin.set_fact": {"mark_%s" % name: "{{ now(utc=true).isoformat() }}"},
        }

    tasks = [
        {
            "name": "Pause the Error instance",
            "ansible.builtin.include_role": {"name": instance},
            "vars": {"instance_name": old, "instance_ingestion": False},
        },
        mark("drain_started"),
        {
            "name": "Drain",
            "register": "drained",
            "servicecontrol.platform.failed_messages": {
                "url": lab.url("old"),
                "rules": RULES,
                "default_action": DEFAULT_ACTION,
                "wait_for": "none_unresolved",
                "timeout": 1800,
            },
        },
        mark("drain_ended"),
        {
            "name": "Restart the Error instance",
            "ansible.builtin.include_role": {"name": instance},
            "vars": {"instance_name": old, "instance_state": "restarted", "instance_ingestion": False},
        },
        mark("restart_ended"),
    ]
    if strategy == "keep_name":
        tasks += [
            {
                "name": "Stop the old instance",
                "ansible.builtin.include_role": {"name": instance},
                "vars": {"instance_name": old, "instance_state": "stopped", "instance_ingestion": False},
            },
            mark("create_started"),
            {
                "name": "Create and start the new instance",
                "ansible.builtin.include_role": {"name": instance},
                "vars": {"instance_topology": "{{ plan.topology }}", "instance_name": old},
            },
            mark("create_ended"),
        ]
    tasks.append(
        {
            "name": "Write the marks",
            "ansible.builtin.copy": {
                "dest": str(lab.tmp / "baseline.json"),
                "mode": "0644",
                "content": "{{ {'drained': drained, 'marks': {'drain_started': mark_drain_started, "
                "'drain_ended': mark_drain_ended, 'restart_ended': mark_restart_ended, "
                "'create_started': mark_create_started | default(none), "
                "'create_ended': mark_create_ended | default(none)}} | to_json }}",
            },
        }
    )
    play = {
        "hosts": "localhost",
        "gather_facts": False,
        "vars": {
            "plan": "{{ servicecontrol_topology | servicecontrol.platform.replacement_plan("
            "replace_error_instance_old, replace_error_instance_new, replace_error_instance_strategy) }}"
        },
        "tasks": tasks,
    }
    path = lab.tmp / "baseline.yml"
    path.write_text(json.dumps([play]))
    return path


def measure_baseline(work, strategy, preclean, messages, args):
    lab = fresh_lab(work, "%s-preclean-%s-baseline" % (strategy, "on" if preclean else "off"))
    try:
        with Endpoint(lab) as endpoint:
            set_up(lab, endpoint, messages, args.groups)
            code, _wall, _tasks, output = run_playbook(
                lab,
                baseline_playbook(lab, strategy),
                replacement_variables(lab, strategy, preclean, args.pause_check),
                "baseline",
            )
        if code != 0:
            raise SystemExit("the baseline failed:\n%s" % output[-6000:])
        result = json.loads((lab.tmp / "baseline.json").read_text())
    finally:
        lab.stop_all()
    marks = {name: timestamp(value) for name, value in result["marks"].items() if value}
    figures = {
        "drain": marks["drain_ended"] - marks["drain_started"],
        "drain_task_elapsed": result["drained"]["elapsed"],
        "restart": marks["restart_ended"] - marks["drain_ended"],
    }
    if strategy == "keep_name":
        figures["create"] = marks["create_ended"] - marks["create_started"]
    return figures


def window_breakdown(state):
    phases = state["phases"]
    rows = []
    for title, (start_phase, start_key), (end_phase, end_key) in WINDOW_PHASES:
        start, end = phases.get(start_phase, {}).get(start_key), phases.get(end_phase, {}).get(end_key)
        if start and end:
            rows.append((title, timestamp(end) - timestamp(start), timestamp(start), timestamp(end)))
    return rows


def slowest_tasks(tasks, start, end, limit):
    totals = defaultdict(float)
    for task in tasks:
        if task["started"] >= start - 0.5 and task["started"] < end:
            totals[task["task"]] += task["ended"] - task["started"]
    return sorted(totals.items(), key=lambda item: -item[1])[:limit]


def report(measured, baseline, args):
    strategy = measured["strategy"]
    needed = baseline["drain"] + (baseline["create"] if strategy == "keep_name" else baseline["restart"])
    what = "drain + creation and start" if strategy == "keep_name" else "drain + one restart"
    print()
    print("== %s, pre-clean %s ==" % (strategy, "on" if measured["preclean"] else "off"))
    print(
        "seeded %d failed messages in %d groups (ingested in %.1f s); unresolved at the pause: %d"
        % (args.count, args.groups, measured["ingest"], measured["remaining"])
    )
    print(
        "replace_error_instance: ansible-playbook %.1f s, rc %d, figures from the %s"
        % (measured["wall"], measured["returncode"], measured["source"])
    )
    print("ingestion-pause window: %.1f s" % measured["window"])
    print(
        "baseline: drain %.1f s (failed_messages elapsed %.1f s), restart %.1f s%s"
        % (
            baseline["drain"],
            baseline["drain_task_elapsed"],
            baseline["restart"],
            ", creation and start %.1f s" % baseline["create"] if "create" in baseline else "",
        )
    )
    print(
        "window / (%s) = %.1f / %.1f = %.2fx (target 1.2x)"
        % (what, measured["window"], needed, measured["window"] / needed)
    )
    print("where the window's time goes:")
    for title, seconds, start, end in window_breakdown(measured["state"]):
        print("  %6.1f s  %s" % (seconds, title))
        for name, task_seconds in slowest_tasks(measured["tasks"], start, end, args.tasks):
            if task_seconds >= 0.3:
                print("           %6.1f s  %s" % (task_seconds, name))
    if measured["failure"]:
        print("the playbook failed after the window:\n" + measured["failure"][-1500:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument(
        "--scenarios",
        default="new_name:off,keep_name:off,new_name:on,keep_name:on",
        help="strategy:pre-clean pairs, comma-separated",
    )
    parser.add_argument("--pause-check", type=int, default=10, help="replace_error_instance_pause_check_seconds")
    parser.add_argument("--tasks", type=int, default=6, help="slowest tasks shown per phase")
    parser.add_argument(
        "--playbook",
        default="servicecontrol.platform.replace_error_instance",
        help="the playbook under measure (a path measures a candidate restructuring before it lands)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, reports)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pause-window-bench-"))
    print("load average before: %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))
    try:
        for scenario in args.scenarios.split(","):
            strategy, preclean = scenario.split(":")
            try:
                measured = measure_replacement(work, strategy, preclean == "on", args)
                baseline = measure_baseline(work, strategy, preclean == "on", measured["remaining"], args)
            except SystemExit as problem:  # one scenario failing does not lose the others' figures
                print("\n== %s, pre-clean %s: not measured ==\n%s" % (strategy, preclean, str(problem)[-3000:]))
                continue
            report(measured, baseline, args)
            print("load average now: %.2f %.2f %.2f" % os.getloadavg())
    finally:
        if args.keep:
            print("work directory: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
