# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime as dt
import math

import pytest

from ansible_collections.servicecontrol.platform.plugins.module_utils._failed_messages import (
    DEFAULT_CLASSIFIER,
    DrainError,
    Reader,
    WaitState,
    build_plan,
    count_requests,
    execute,
    finish,
    is_backup_of,
    parse_duration,
    parse_rules,
    parse_time,
    primary_filter,
    progress_line,
    read_overview,
    timeout_message,
    wait,
)
from ansible_collections.servicecontrol.platform.tests.unit.plugins.module_utils.fake_error_instance import (
    GROUP_A,
    GROUP_B,
    GROUP_C,
    NOW,
    FakeErrorInstance,
    client_for,
    three_groups,
)


def plan_for(instance, rules, default_action="keep", retry_filter=None):
    client = client_for(instance)
    reader = Reader(client)
    return client, reader, build_plan(reader, parse_rules(rules), default_action, retry_filter)


def run_all(instance, rules, default_action="keep", wait_for="none_unresolved"):
    client, reader, plan = plan_for(instance, rules, default_action)
    state = WaitState.from_plan(plan, wait_for, reader.now)

    def wait_for_archives(target):
        for _attempt in range(50):
            if reader.count("archived") >= target:
                return
        raise AssertionError("archives never finished")

    execute(client, plan, wait_for_archives)
    outcome = wait(reader, state, timeout=100, poll_interval=0, sleep=lambda s: None)
    return plan, state, outcome, reader


# -- parsing -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("30m", 1800), ("2h", 7200), ("7d", 604800), ("45", 45)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1w", "-5m", "m", "1.5h", True])
def test_bad_durations_are_refused(text):
    with pytest.raises(DrainError, match="older_than"):
        parse_duration(text)


def test_rules_are_validated():
    with pytest.raises(DrainError, match=r"rules\[0\].*action must be retry or archive"):
        parse_rules([{"action": "delete"}])
    with pytest.raises(DrainError, match="unknown keys colour"):
        parse_rules([{"action": "retry", "colour": "red"}])
    with pytest.raises(DrainError, match="classifier only applies"):
        parse_rules([{"action": "retry", "classifier": "Message Type"}])
    with pytest.raises(DrainError, match="repeated: x"):
        parse_rules([{"name": "x", "action": "retry"}, {"name": "x", "action": "archive"}])
    (rule,) = parse_rules([{"action": "retry", "group_title": "A*"}])
    assert rule.name == "rule 1" and rule.classifier == DEFAULT_CLASSIFIER and rule.pure_group


def test_servicecontrol_timestamps_with_seven_fraction_digits():
    assert parse_time("2026-08-20T09:14:05.1180000Z") == dt.datetime(
        2026, 8, 20, 9, 14, 5, 118000, tzinfo=dt.timezone.utc
    )
    assert parse_time(None) is None and parse_time("yesterday") is None


# -- planning ----------------------------------------------------------------------------------------------------


def test_nothing_unresolved_is_one_request_and_no_change():
    instance = FakeErrorInstance()
    _client, _reader, plan = plan_for(instance, [{"action": "retry", "group_title": "*"}], "retry")
    assert plan.steps == [] and plan.retried == plan.archived == 0
    assert len(instance.requests) == 1 and instance.requests[0][0] == "HEAD"


def test_whole_groups_go_by_group_routes_and_the_default_retry_by_retry_all():
    instance = three_groups()
    _client, _reader, plan = plan_for(
        instance,
        [{"name": "poison", "action": "archive", "group_title": "System.FormatException: *"}],
        "retry",
    )
    assert plan.strategy == "whole groups"
    routes = [(s.action, s.route, s.count) for s in plan.ordered_steps()]
    assert routes == [
        ("archive", "recoverability/groups/%s/errors/archive" % GROUP_B, 3),
        ("retry", "errors/retry/all", 6),
    ]
    assert sorted(plan.archived_ids) == ["b0", "b1", "b2"]
    assert sorted(plan.retried_ids) == ["a0", "a1", "a2", "a3", "c0", "c1"]
    assert plan.report() == [
        {
            "name": "poison",
            "action": "archive",
            "count": 3,
            "route": "recoverability/groups/%s/errors/archive" % GROUP_B,
        },
        {"name": "default", "action": "retry", "count": 6, "route": "errors/retry/all"},
    ]


def test_retry_all_is_sent_only_once_the_archives_are_done():
    instance = three_groups(lag=3)
    plan, _state, outcome, _reader = run_all(instance, [{"action": "archive", "group_id": GROUP_B.upper()}], "retry")
    assert outcome["done"]
    assert {instance.status_of(i) for i in ("b0", "b1", "b2")} == {"archived"}
    assert {instance.status_of(i) for i in ("a0", "c1")} == {"resolved"}
    posts = [path for method, path, _params in instance.requests if method == "POST"]
    assert posts[-1] == "/api/errors/retry/all"
    assert plan.retried == 6 and plan.archived == 3


def test_message_rules_go_by_id_batches_and_keep_leaves_the_rest():
    instance = three_groups()
    _client, _reader, plan = plan_for(
        instance,
        [
            {"name": "old billing", "action": "archive", "endpoint": "billing", "older_than": "7d"},
            {"name": "orders", "action": "retry", "message_type": "Sales.PlaceOrder"},
        ],
    )
    assert plan.strategy == "by message"
    assert [(s.route, s.body) for s in plan.steps] == [
        ("errors/archive", ["b1", "b2"]),
        ("errors/retry", ["a0", "a1", "a2", "a3"]),
    ]
    assert plan.kept == 3  # b0 (one day old) and the two Shipping failures
    assert plan.report()[-1] == {"name": "default", "action": "keep", "count": 3, "route": None}


def test_first_match_wins_and_a_partly_taken_group_goes_by_ids():
    instance = three_groups()
    _client, _reader, plan = plan_for(
        instance,
        [
            {"name": "billing old", "action": "archive", "endpoint": "Billing", "older_than": "2d"},
            {"name": "billing group", "action": "retry", "group_id": GROUP_B},
            {"name": "sales group", "action": "retry", "group_id": GROUP_A},
        ],
    )
    steps = {(s.rule_name, s.route): s.body for s in plan.steps}
    assert steps[("billing old", "errors/archive")] == ["b1", "b2"]
    assert steps[("billing group", "errors/retry")] == ["b0"]
    # Nothing of GROUP_A is taken by another rule: its group route selects exactly it.
    assert ("sales group", "recoverability/groups/%s/errors/retry" % GROUP_A) in steps


def test_a_queue_rule_uses_the_queue_route_when_it_takes_the_whole_queue():
    instance = three_groups()
    _client, _reader, plan = plan_for(instance, [{"action": "retry", "queue": "shipping"}])
    assert [(s.route, s.count) for s in plan.steps] == [("errors/queues/shipping/retry", 2)]
    assert sorted(plan.retried_ids) == ["c0", "c1"]


def test_an_endpoint_rule_after_an_overlapping_rule_goes_by_ids():
    instance = three_groups()
    _client, _reader, plan = plan_for(
        instance,
        [{"action": "archive", "group_id": GROUP_B, "older_than": "2d"}, {"action": "retry", "endpoint": "Billing"}],
    )
    assert [(s.route, s.body) for s in plan.steps] == [("errors/archive", ["b1", "b2"]), ("errors/retry", ["b0"])]


def test_a_busy_group_is_not_sent_to_its_group_route():
    instance = three_groups()
    instance.busy_groups.add(GROUP_C)
    _client, _reader, plan = plan_for(instance, [{"action": "archive", "group_id": GROUP_C}])
    assert [(s.route, s.body) for s in plan.steps] == [("errors/archive", ["c0", "c1"])]


def test_the_default_archive_covers_every_other_group():
    instance = three_groups()
    _client, _reader, plan = plan_for(instance, [{"action": "retry", "group_id": GROUP_A}], "archive")
    assert sorted((s.action, s.route) for s in plan.steps) == [
        ("archive", "recoverability/groups/%s/errors/archive" % GROUP_B),
        ("archive", "recoverability/groups/%s/errors/archive" % GROUP_C),
        ("retry", "recoverability/groups/%s/errors/retry" % GROUP_A),
    ]


def test_groups_that_do_not_cover_every_message_fall_back_to_listing():
    instance = three_groups()
    instance.add("orphan", group="not-listed")
    _client, _reader, plan = plan_for(instance, [{"action": "archive", "group_id": GROUP_A}], "archive")
    assert plan.strategy == "by message"
    assert plan.archived == 10
    assert sorted(plan.archived_ids)[-1] == "orphan"


def test_groups_beyond_the_200_servicecontrol_lists():
    instance = FakeErrorInstance()
    for g in range(205):
        instance.add_group("g%03d" % g, "Exception%03d: Handler.Handle()" % g)
        instance.add("m%03d" % g, group="g%03d" % g)
    _client, _reader, plan = plan_for(
        instance,
        [
            {"name": "by id", "action": "archive", "group_id": "g203"},
            {"name": "by title", "action": "archive", "group_title": "Exception204: Handler.Handle()"},
        ],
    )
    assert plan.strategy == "by message"
    assert sorted(plan.archived_ids) == ["m203", "m204"]
    assert plan.kept == 203
    with pytest.raises(DrainError, match="lists only the 200 most recently failed groups"):
        plan_for(instance, [{"action": "archive", "group_title": "Nothing*"}])


# -- waiting -----------------------------------------------------------------------------------------------------


def test_dispatched_counts_refailures_apart():
    instance = three_groups(ingesting=True, refail={"a0", "a1"})
    _plan, state, outcome, reader = run_all(instance, [{"action": "retry", "group_id": GROUP_A}], wait_for="dispatched")
    assert outcome["done"]
    end = finish(reader, state)
    assert end == {"refailed": 2, "remaining": 5}  # b* and c* kept; a0, a1 failed again
    assert instance.status_of("a2") == "resolved"


def test_none_unresolved_waits_only_for_what_was_acted_on():
    instance = three_groups(lag=4)
    _plan, state, outcome, reader = run_all(instance, [{"action": "archive", "endpoint": "Shipping"}])
    assert outcome["done"] and state["kept"] == 7
    assert finish(reader, state) == {"remaining": 7, "refailed": 0}


def test_wait_reports_progress_and_times_out():
    instance = three_groups(lag=1000)
    client, reader, plan = plan_for(instance, [], "retry")
    execute(client, plan, lambda target: None)
    state = WaitState.from_plan(plan, "none_unresolved", reader.now)
    ticks = iter(range(0, 1000, 10))
    seen = []
    outcome = wait(
        reader,
        state,
        timeout=25,
        poll_interval=5,
        progress=lambda *a: seen.append(a),
        clock=lambda: next(ticks),
        sleep=lambda s: None,
    )
    assert outcome["timed_out"] and outcome["left"] == 9
    assert seen[0] == (9, 0.0, None)
    message = timeout_message(state, outcome, 25, plan.report())
    assert "timed out after 25 s: 9 messages acted on are still unresolved" in message
    assert "default: retry 9 via errors/retry/all" in message


def test_progress_line():
    assert progress_line(1840, 96.2, 19.1) == "failed_messages: 1840 unresolved left, 96/s, about 19 s to go"
    assert progress_line(5, 0.0, None) == "failed_messages: 5 unresolved left, 0/s"


# -- the backup guard --------------------------------------------------------------------------------------------


def test_backup_detection_from_the_configurations():
    primary = {"transport": {"error_queue": "error", "error_log_queue": "error_backup", "forward_error_messages": True}}
    backup = {
        "transport": {"error_queue": "error_backup", "error_log_queue": "error.log", "forward_error_messages": False}
    }
    assert is_backup_of(backup, primary)
    assert not is_backup_of(primary, backup)
    assert not is_backup_of(backup, {"transport": dict(primary["transport"], forward_error_messages=False)})


def test_the_guard_retries_only_what_the_primary_never_retried():
    backup = three_groups()
    primary = three_groups()
    primary.messages["a1"]["number_of_processing_attempts"] = 2  # retried on the primary and failed again
    primary.messages["a2"]["status"] = "resolved"
    del primary.messages["a3"]
    check = primary_filter(client_for(primary))
    _client, _reader, plan = plan_for(backup, [{"action": "retry", "group_id": GROUP_A}], "keep", check)
    assert [(s.route, s.body) for s in plan.steps] == [("errors/retry", ["a0"])]
    assert plan.skipped_ids == ["a1", "a2", "a3"]
    assert plan.kept == 5 + 3


# -- efficiency --------------------------------------------------------------------------------------------------


def big_instance(messages=1200, groups=12):
    instance = FakeErrorInstance(lag=2)
    for g in range(groups):
        instance.add_group("g%02d" % g, "Exception%02d: Handler%02d.Handle()" % (g, g))
    for n in range(messages):
        g = n % groups
        instance.add(
            "m%05d" % n,
            group="g%02d" % g,
            endpoint="Endpoint%d" % (g % 4),
            message_type="Type%d" % (n % 7),
            age=dt.timedelta(minutes=n % 90),
        )
    return instance


def test_http_calls_on_1200_messages_in_12_groups_stay_within_the_bulk_bound():
    instance = big_instance()
    rules = [
        {"name": "archive g00", "action": "archive", "group_title": "Exception00: *"},
        {"name": "archive g01", "action": "archive", "group_id": "g01"},
        {"name": "archive g02", "action": "archive", "group_title": "Exception02: Handler02.Handle()"},
        {"name": "retry two", "action": "retry", "group_id": "g05"},
    ]
    counter_client = client_for(instance)
    counter = count_requests(counter_client)
    reader = Reader(counter_client)
    plan = build_plan(reader, parse_rules(rules), "retry")
    assert plan.strategy == "whole groups"
    planning = counter[0]
    # HEAD unresolved + HEAD archived + the groups + the archived groups' members (100 each, one page) + the
    # unresolved list for the retry-all ids (1000 per page).
    assert planning == 3 + 3 + math.ceil(1200 / 1000)
    execute(counter_client, plan, lambda target: [reader.count("archived") for _attempt in range(3)])
    acting = counter[0] - planning
    # Three group archives and one retry-all (retry two is covered by it), plus the archive polls.
    assert [r for r in instance.requests if r[0] == "POST"].__len__() == 4
    assert acting <= 4 + 3
    assert plan.archived == 300 and plan.retried == 900
    retry_two = next(e for e in plan.report() if e["name"] == "retry two")
    assert retry_two == {"name": "retry two", "action": "retry", "count": 100, "route": "errors/retry/all"}


def test_http_calls_when_every_message_must_be_listed():
    instance = big_instance()
    rules = [{"name": "old type 3", "action": "archive", "message_type": "Type3", "older_than": "30m"}]
    client = client_for(instance)
    counter = count_requests(client)
    reader = Reader(client)
    plan = build_plan(reader, parse_rules(rules), "retry")
    execute(client, plan, lambda target: None)
    archived = plan.archived
    assert 0 < archived < 1200
    # HEAD unresolved + HEAD archived + 2 list pages + archive by ids (one batch) + retry-all.
    assert counter[0] == 2 + 2 + math.ceil(archived / 1000) + 1


# -- the info module ---------------------------------------------------------------------------------------------


def test_overview_counts_groups_and_breakdowns():
    instance = three_groups()
    instance.add("old", group=GROUP_A, status="archived")
    instance.add("new", group=GROUP_C, endpoint="Shipping", age=dt.timedelta(minutes=5))
    result = read_overview(client_for(instance), DEFAULT_CLASSIFIER, 15, True, ["unresolved", "archived"])
    assert result["counts"] == {"unresolved": 10, "retry_issued": 0, "archived": 1, "resolved": 0}
    assert {(g["id"], g["count"]) for g in result["groups"]} == {(GROUP_A, 4), (GROUP_B, 3), (GROUP_C, 3)}
    assert result["by_endpoint"] == {"Sales": 4, "Billing": 3, "Shipping": 3}
    assert result["by_exception_type"]["System.FormatException"] == 3
    assert result["by_queue"] == {"Sales": 4, "Billing": 3, "Shipping": 3}
    assert result["recent_failures"] == 1
    assert len(result["messages"]) == 11
    first = next(m for m in result["messages"] if m["id"] == "new")
    assert first == {
        "id": "new",
        "message_id": "m-new",
        "status": "unresolved",
        "receiving_endpoint": "Shipping",
        "message_type": "Sales.PlaceOrder",
        "exception_type": "System.InvalidOperationException",
        "queue": "Shipping",
        "time_of_failure": (NOW - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
        "number_of_processing_attempts": 1,
    }


def test_overview_messages_carry_only_the_fields_asked_for():
    """message_fields trims each message (the reconciliation needs id, message_id and status), and nothing else."""
    instance = three_groups()
    client = client_for(instance)
    full = read_overview(client, DEFAULT_CLASSIFIER, 15, True, ["unresolved"])
    trimmed = read_overview(client, DEFAULT_CLASSIFIER, 15, True, ["unresolved"], fields=["status", "id"])
    assert [m["id"] for m in trimmed["messages"]] == [m["id"] for m in full["messages"]]
    assert all(list(m) == ["id", "status"] for m in trimmed["messages"])  # in the module's own field order
    assert {k: v for k, v in trimmed.items() if k != "messages"} == {k: v for k, v in full.items() if k != "messages"}


def test_overview_of_every_status_is_one_read_that_agrees_with_itself():
    """Asked for every status (the reconciliation), the counts and breakdowns come from the same listing as the
    messages: the groups, then 12,000 messages in 3 pages of 5000, and no query per status."""
    instance = big_instance(messages=12000, groups=12)
    for n in range(0, 12000, 4):
        instance.messages["m%05d" % n]["status"] = "archived"
    for n in range(1, 12000, 4):
        instance.messages["m%05d" % n]["status"] = "resolved"
    client = client_for(instance)
    counter = count_requests(client)
    result = read_overview(client, DEFAULT_CLASSIFIER, 15, True, ["unresolved", "retry_issued", "archived", "resolved"])
    assert counter[0] == 1 + 3
    assert result["counts"] == {"unresolved": 6000, "retry_issued": 0, "archived": 3000, "resolved": 3000}
    assert len(result["messages"]) == len({m["id"] for m in result["messages"]}) == 12000
    assert sum(result["by_endpoint"].values()) == 6000
    assert result["recent_failures"] == sum(1 for n in range(2, 12000, 4) if n % 90 <= 15) + sum(
        1 for n in range(3, 12000, 4) if n % 90 <= 15
    )
    # Fewer statuses: a count per status and the listing of those asked for, as before.
    counter[0] = 0
    fewer = read_overview(client, DEFAULT_CLASSIFIER, 15, True, ["archived"])
    assert fewer["counts"] == result["counts"] and len(fewer["messages"]) == 3000
    assert counter[0] == 1 + 4 + 2 + 1  # groups, 4 HEADs, the unresolved and the archived in pages of 5000
    counter[0] = 0
    overview = read_overview(client, DEFAULT_CLASSIFIER, 15, False, ["unresolved"])
    assert "messages" not in overview and overview["by_endpoint"] == result["by_endpoint"]
    assert counter[0] == 1 + 4 + 6  # no messages asked for: the unresolved in pages of 1000


def test_http_calls_for_10000_messages_in_50_groups_with_the_wait():
    """The issue's target (at most 150 requests) against the fake, every poll counted: one group_title rule archives
    10 groups, the default retries the other 40 by retry-all, and the fake needs 5 polls per operation."""
    instance = big_instance(messages=10000, groups=50)
    instance.lag = 5
    client = client_for(instance)
    counter = count_requests(client)
    reader = Reader(client)
    plan = build_plan(reader, parse_rules([{"action": "archive", "group_title": "Exception0*"}]), "retry")

    def wait_for_archives(target):
        while reader.count("archived") < target:
            pass

    execute(client, plan, wait_for_archives)
    state = WaitState.from_plan(plan, "none_unresolved", reader.now)
    outcome = wait(reader, state, timeout=10**6, poll_interval=0, sleep=lambda seconds: None)
    finish(reader, state)
    assert outcome["done"] and instance.statuses() == {"archived": 2000, "resolved": 8000}
    assert len(plan.retried_ids) == 8000 and len(plan.archived_ids) == 2000
    methods = [method for method, _path, _params in instance.requests]
    # GET: the groups, the 10 archived groups' members, 10 pages of unresolved; POST: 10 archives and retry-all;
    # HEAD: the two counts, then the polls. All in, within the 150.
    assert methods.count("GET") == 1 + 10 + 10 and methods.count("POST") == 10 + 1
    assert counter[0] == len(methods) <= 150
