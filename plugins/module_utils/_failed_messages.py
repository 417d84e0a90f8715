# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""Draining an Error instance's failed messages by rules: read, decide, act, wait.

Used by the ``failed_messages`` module (plan and act), its action plugin (wait, on the controller) and
``failed_messages_info`` (read). Facts: docs/reference/servicecontrol.md §2.3-2.7.

* The plan is computed from what the instance reports: ``HEAD errors?status=unresolved``, the failure groups
  of each classifier a rule names, and, only when a decision needs it, the unresolved messages
  (``GET errors?status=unresolved``) and a group's members (``GET recoverability/groups/{id}/errors``).
  A FailedMessageView does not say which groups a message is in, so a group's members are listed only
  when another rule could take some of them.
* Each selection goes by the cheapest route that selects exactly it: a whole failure group by the group
  route, a whole failed queue or endpoint by its retry route, the default ``retry`` by ``errors/retry/all``
  (after the archives have been carried out, since retry-all takes every unresolved message), and the rest
  by id batches of 1000 (the size ServiceControl stages retries in).
* Rules apply in order and the first that matches a message wins.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import time
from email.utils import parsedate_to_datetime

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import quote_segment

DEFAULT_CLASSIFIER = "Exception Type and Stack Trace"
#: ServiceControl caps neither ``per_page`` (PagingInfoModelBinder only replaces values below 1 by 50) nor
#: RavenDB's page size; 1000 keeps a page of views (about 2 kB each with the stack trace) near 2 MB.
LIST_PAGE_SIZE = 1000
#: A page of the messages ``failed_messages_info`` returns (a snapshot or a reconciliation reads them all): fewer,
#: larger pages mean fewer queries over the whole collection; 5000 views are about 10 MB.
EXPORT_PAGE_SIZE = 5000
#: Ids per ``errors/retry`` or ``errors/archive`` request: ServiceControl stages retries in batches of 1000.
ID_BATCH_SIZE = 1000

RULE_ACTIONS = ("retry", "archive")
DEFAULT_ACTIONS = ("retry", "archive", "keep")
WAIT_FOR = ("none_unresolved", "dispatched")
GROUP_KEYS = ("group_id", "group_title")
MESSAGE_KEYS = ("endpoint", "message_type", "exception_type", "queue", "older_than")
RULE_KEYS = ("name", "action", "classifier", *GROUP_KEYS, *MESSAGE_KEYS)
#: A group whose retry or archive operation is still running ignores another group request.
IDLE_OPERATION_STATES = (None, "", "None", "Completed", "ArchiveCompleted")
STATUSES = ("unresolved", "retryissued", "archived", "resolved")
#: ``GET recoverability/groups/{classifier}`` returns at most this many groups, the most recently failed first.
MAX_GROUPS = 200

_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_FRACTION_RE = re.compile(r"(\.\d{6})\d+")
#: Bounds for the ``modified`` range filter (ServiceControl needs both ends).
EARLIEST = "2000-01-01T00:00:00Z"
LATEST = "2999-12-31T23:59:59Z"


class DrainError(ValueError):
    """A request that cannot be carried out; the message says what and what to do."""


# -- parsing -----------------------------------------------------------------------------------------------------


def parse_duration(value, what="older_than"):
    """Seconds from ``90s``, ``30m``, ``2h``, ``7d`` or a number of seconds."""
    if isinstance(value, bool):
        raise DrainError("%s must be a duration such as 90s, 30m, 2h or 7d, got %r" % (what, value))
    if isinstance(value, (int, float)):
        if value < 0:
            raise DrainError("%s must not be negative, got %r" % (what, value))
        return int(value)
    match = _DURATION_RE.match(str(value or ""))
    if not match:
        raise DrainError("%s must be a duration such as 90s, 30m, 2h or 7d, got %r" % (what, value))
    return int(match.group(1)) * _UNITS[match.group(2)]


class Rule:
    """One drain rule: a name, an action and the match keys that were given (all must match)."""

    def __init__(self, index, spec):
        self.index = index
        self.name = str(spec.get("name") or "rule %d" % (index + 1))
        self.action = spec.get("action")
        self.classifier = spec.get("classifier") or DEFAULT_CLASSIFIER
        self.group_id = spec.get("group_id")
        self.group_title = spec.get("group_title")
        self.endpoint = spec.get("endpoint")
        self.message_type = spec.get("message_type")
        self.exception_type = spec.get("exception_type")
        self.queue = spec.get("queue")
        older = spec.get("older_than")
        self.older_than = None if older in (None, "") else parse_duration(older, "rules[%d].older_than" % index)

    @property
    def has_group_keys(self):
        return self.group_id is not None or self.group_title is not None

    @property
    def has_message_keys(self):
        return any(getattr(self, key) is not None for key in MESSAGE_KEYS)

    @property
    def pure_group(self):
        return self.has_group_keys and not self.has_message_keys

    @property
    def only_key(self):
        """The one match key given, or None (a rule with one key may use that key's bulk route)."""
        given = [key for key in GROUP_KEYS + MESSAGE_KEYS if getattr(self, key) is not None]
        return given[0] if len(given) == 1 else None

    def matches_group(self, group):
        if self.group_id is not None and str(group.get("id", "")).lower() != str(self.group_id).lower():
            return False
        if self.group_title is not None and not _title_matches(self.group_title, group.get("title") or ""):
            return False
        return True

    def matches_message(self, view, now):
        """The message keys against a FailedMessageView (group keys are checked through group membership)."""
        if self.endpoint is not None and not _same(self.endpoint, (view.get("receiving_endpoint") or {}).get("name")):
            return False
        if self.message_type is not None and view.get("message_type") != self.message_type:
            return False
        if self.exception_type is not None and (view.get("exception") or {}).get("exception_type") != (
            self.exception_type
        ):
            return False
        if self.queue is not None and not _same(self.queue, view.get("queue_address")):
            return False
        if self.older_than is not None:
            failed_at = parse_time(view.get("time_of_failure"))
            if failed_at is None or (now - failed_at).total_seconds() < self.older_than:
                return False
        return True


def _same(wanted, actual):
    return actual is not None and str(wanted).lower() == str(actual).lower()


def _is_pattern(text):
    return "*" in text or "?" in text


def _title_matches(pattern, title):
    """Exact title, or a shell-style pattern when it has ``*`` or ``?`` (titles often contain brackets)."""
    if pattern == title:
        return True
    if _is_pattern(pattern):
        escaped = pattern.replace("[", "[[]")
        return fnmatch.fnmatchcase(title, escaped)
    return False


def parse_rules(rules):
    """Validate the ``rules`` option; return Rule objects in order."""
    parsed = []
    for index, spec in enumerate(rules or []):
        if not isinstance(spec, dict):
            raise DrainError("rules[%d] must be a dictionary with action and match keys" % index)
        unknown = sorted(key for key in set(spec) - set(RULE_KEYS) if spec[key] is not None)
        if unknown:
            raise DrainError(
                "rules[%d] has unknown keys %s; use %s" % (index, ", ".join(unknown), ", ".join(RULE_KEYS))
            )
        if spec.get("action") not in RULE_ACTIONS:
            raise DrainError(
                "rules[%d] (%s): action must be retry or archive, got %r"
                % (index, spec.get("name") or "unnamed", spec.get("action"))
            )
        rule = Rule(index, spec)
        if spec.get("classifier") and spec["classifier"] != DEFAULT_CLASSIFIER and not rule.has_group_keys:
            raise DrainError(
                "rules[%d] (%s): classifier only applies with group_id or group_title" % (index, rule.name)
            )
        parsed.append(rule)
    names = [rule.name for rule in parsed]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise DrainError("rule names must be unique; repeated: %s" % ", ".join(duplicates))
    return parsed


def parse_time(text):
    """A ServiceControl timestamp (``2026-08-20T09:14:05.1180000Z``) as an aware datetime, or None."""
    if not text:
        return None
    value = _FRACTION_RE.sub(r"\1", str(text).strip()).replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def iso(moment):
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def server_time(response):
    """The instance's clock from the ``Date`` header (the controller's clock may differ), else the local one."""
    header = response.headers.get("date") if response is not None else None
    if header:
        try:
            return parsedate_to_datetime(header).astimezone(dt.timezone.utc)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.timezone.utc)


def count_requests(client):
    """Count every HTTP request ``client`` sends (retries included); returns a one-item list holding the count."""
    counter = [0]

    def on_request(_request):
        counter[0] += 1

    # httpx calls request hooks for every request it sends, including the client's own retries.
    client._http.event_hooks["request"].append(on_request)  # pylint: disable=protected-access
    return counter


# -- reading -----------------------------------------------------------------------------------------------------


class Reader:
    """Reads an Error instance's failed messages once each, on demand."""

    def __init__(self, client):
        self.client = client
        self._groups = {}
        self._truncated = {}
        self._members = {}
        self._unresolved = None
        self.now = None

    def count(self, status, modified=None):
        params = {"status": status}
        if modified:
            params["modified"] = modified
        response = self.client.head("errors", params=params)
        if self.now is None:
            self.now = server_time(response)
        if response.total_count is None:
            raise self.client.error(response, "the response has no Total-Count header")
        return response.total_count

    def groups(self, classifier, title=None):
        """Open failure groups of a classifier (``GET recoverability/groups/{classifier}``), with real counts.

        ServiceControl answers with at most the 200 most recently failed groups (``GroupsDataStore``); ``title``
        asks for one exact title (``classifierFilter``) instead.
        """
        key = (classifier, title)
        if key not in self._groups:
            params = {"classifierFilter": title} if title is not None else None
            response = self.client.get("recoverability/groups/" + quote_segment(classifier), params=params)
            if self.now is None:
                self.now = server_time(response)
            entries = response.expect(list, "the failure groups")
            groups = []
            for entry in entries:
                if not isinstance(entry, dict) or not entry.get("id"):
                    continue
                group = entry
                if entry.get("need_user_acknowledgement"):
                    # A finished operation awaiting acknowledgement reports what it processed, not what is open.
                    group = dict(entry, count=self._group_count(entry["id"]))
                if int(group.get("count") or 0) > 0:
                    groups.append(dict(group, classifier=classifier))
            self._groups[key] = groups
            self._truncated[key] = len(entries) >= MAX_GROUPS
        return self._groups[key]

    def _group_count(self, group_id):
        route = "recoverability/groups/%s/errors" % quote_segment(group_id)
        return self.client.count(route, params={"status": "unresolved"})

    def matching_groups(self, rule):
        """The open groups a rule's group keys match, also beyond the 200 that ServiceControl lists."""
        groups = self.groups(rule.classifier)
        matched = [g for g in groups if rule.matches_group(g)]
        if matched or not self._truncated[(rule.classifier, None)]:
            return matched
        if rule.group_title is not None and not _is_pattern(rule.group_title):
            return [g for g in self.groups(rule.classifier, rule.group_title) if rule.matches_group(g)]
        if rule.group_id is not None and rule.group_title is None:
            count = self._group_count(rule.group_id)
            return (
                [{"id": rule.group_id, "title": None, "count": count, "classifier": rule.classifier}] if count else []
            )
        raise DrainError(
            "rule '%s': ServiceControl lists only the %d most recently failed groups of '%s' and none of them matches "
            "'%s'; give the group_id or the exact group_title"
            % (rule.name, MAX_GROUPS, rule.classifier, rule.group_title)
        )

    def unresolved(self, per_page=LIST_PAGE_SIZE):
        if self._unresolved is None:
            self._unresolved = list(
                self.client.paginate(
                    "errors",
                    params={"status": "unresolved", "sort": "time_of_failure", "direction": "asc"},
                    per_page=per_page,
                )
            )
        return self._unresolved

    def members(self, group_id):
        if group_id not in self._members:
            self._members[group_id] = list(
                self.client.paginate(
                    "recoverability/groups/%s/errors" % quote_segment(group_id),
                    params={"status": "unresolved", "sort": "time_of_failure", "direction": "asc"},
                    per_page=LIST_PAGE_SIZE,
                )
            )
        return self._members[group_id]


#: The fields of each message ``failed_messages_info`` returns, in order (its ``message_fields`` choices).
MESSAGE_FIELDS = (
    "id",
    "message_id",
    "status",
    "receiving_endpoint",
    "message_type",
    "exception_type",
    "queue",
    "time_of_failure",
    "number_of_processing_attempts",
)


def message_summary(view):
    """The fields of a FailedMessageView this collection reports (MESSAGE_FIELDS)."""
    return {
        "id": view.get("id"),
        "message_id": view.get("message_id"),
        "status": view.get("status"),
        "receiving_endpoint": (view.get("receiving_endpoint") or {}).get("name"),
        "message_type": view.get("message_type"),
        "exception_type": (view.get("exception") or {}).get("exception_type"),
        "queue": view.get("queue_address"),
        "time_of_failure": view.get("time_of_failure"),
        "number_of_processing_attempts": view.get("number_of_processing_attempts"),
    }


def drain_options():
    """The ``failed_messages`` options besides the connection ones (the action plugin validates with them too).

    ``timeout`` is the wait here (the replacement playbook's name); the HTTP timeout is ``request_timeout``.
    """
    rule = {
        "name": {"type": "str"},
        "action": {"type": "str", "choices": list(RULE_ACTIONS), "required": True},
        "group_id": {"type": "str"},
        "group_title": {"type": "str"},
        "classifier": {"type": "str"},
        "endpoint": {"type": "str"},
        "message_type": {"type": "str"},
        "exception_type": {"type": "str"},
        "queue": {"type": "str"},
        "older_than": {"type": "str"},
    }
    return {
        "rules": {"type": "list", "elements": "dict", "default": [], "options": rule},
        "default_action": {"type": "str", "choices": list(DEFAULT_ACTIONS), "default": "keep"},
        "wait": {"type": "bool", "default": True},
        "wait_for": {"type": "str", "choices": list(WAIT_FOR), "default": "none_unresolved"},
        "timeout": {"type": "int", "default": 1800},
        "request_timeout": {"type": "float", "default": 30.0},
        "poll_interval": {"type": "int", "default": 5},
        "backup": {"type": "bool", "default": False},
        "primary_url": {"type": "str"},
        "allow_backup_retry": {"type": "bool", "default": False},
    }


# -- planning ----------------------------------------------------------------------------------------------------


class Step:
    """One request of the plan: a route, its body, and how many messages it covers."""

    def __init__(self, rule_name, action, route, count, *, body=None, covered_by_retry_all=False):
        self.rule_name = rule_name
        self.action = action
        self.route = route
        self.count = count
        self.body = body
        self.covered_by_retry_all = covered_by_retry_all


def _batches(ids):
    return [ids[start : start + ID_BATCH_SIZE] for start in range(0, len(ids), ID_BATCH_SIZE)]


class Plan:
    """What the drain will do: per rule the action, count and routes; the steps in execution order."""

    def __init__(self, rules, default_action):
        self.rules = rules
        self.default_action = default_action
        self.entries = {
            rule.name: {"name": rule.name, "action": rule.action, "count": 0, "routes": []} for rule in rules
        }
        self.entries["default"] = {"name": "default", "action": default_action, "count": 0, "routes": []}
        self.steps = []
        self.retried_ids = []
        self.archived_ids = []
        self.skipped_ids = []
        self.kept = 0
        self.unresolved = 0
        self.archived_before = 0
        self.strategy = None

    def add(self, rule_name, action, route, count, *, body=None, ids=()):
        if count <= 0:
            return
        entry = self.entries[rule_name]
        entry["count"] += count
        if route not in entry["routes"]:
            entry["routes"].append(route)
        self.steps.append(Step(rule_name, action, route, count, body=body))
        (self.retried_ids if action == "retry" else self.archived_ids).extend(ids)

    @property
    def retried(self):
        return sum(step.count for step in self.steps if step.action == "retry")

    @property
    def archived(self):
        return sum(step.count for step in self.steps if step.action == "archive")

    @property
    def uses_retry_all(self):
        return any(step.route == "errors/retry/all" for step in self.steps)

    def report(self):
        """The ``plan`` return value: per rule (and the default) name, action, count and route(s) used."""
        result = []
        for entry in self.entries.values():
            count = self.kept if entry["name"] == "default" and entry["action"] == "keep" else entry["count"]
            routes = entry["routes"]
            result.append(
                {
                    "name": entry["name"],
                    "action": entry["action"],
                    "count": count,
                    "route": ", ".join(routes) if routes else None,
                }
            )
        return result

    def ordered_steps(self):
        """Archives first, then retries, then retry-all (which must see the archives done)."""
        order = {"archive": 0, "retry": 1}
        return sorted(self.steps, key=lambda s: (s.route == "errors/retry/all", order[s.action]))


def _group_route(group_id, action):
    return "recoverability/groups/%s/errors/%s" % (quote_segment(group_id), action)


def _id_route(action):
    return "errors/retry" if action == "retry" else "errors/archive"


def _group_idle(group):
    return group.get("operation_status") in IDLE_OPERATION_STATES


def build_plan(reader, rules, default_action, retry_filter=None):
    """Decide what to do with every unresolved message.

    ``retry_filter`` (the backup guard) takes the ids chosen for retry and returns ``(allowed, skipped)``;
    when it is given, retries go by id only, since a bulk route would also retry the skipped messages.
    """
    plan = Plan(rules, default_action)
    plan.unresolved = reader.count("unresolved")
    if plan.unresolved == 0:
        plan.strategy = "nothing unresolved"
        return plan
    if any(rule.action == "archive" for rule in rules) or default_action == "archive":
        plan.archived_before = reader.count("archived")
    if _plan_by_groups(reader, plan, rules, default_action, retry_filter):
        return plan
    _plan_by_messages(reader, plan, rules, default_action, retry_filter)
    return plan


def _plan_by_groups(reader, plan, rules, default_action, retry_filter):
    """Whole groups only: every rule is a group rule of one classifier whose groups cover every unresolved
    message (a message is in exactly one group per classifier), no group is busy and no guard filters."""
    classifiers = {rule.classifier for rule in rules}
    if retry_filter is not None or any(not rule.pure_group for rule in rules) or len(classifiers) > 1:
        return False
    if not rules and default_action != "archive":
        # No rule: retry-all or nothing; no need to read groups.
        if default_action == "retry":
            plan.add("default", "retry", "errors/retry/all", plan.unresolved)
            _collect_group_ids(reader, plan)
        else:
            plan.kept = plan.unresolved
        plan.strategy = "default only"
        return True
    classifier = classifiers.pop() if classifiers else DEFAULT_CLASSIFIER
    groups = reader.groups(classifier)
    if sum(int(g["count"]) for g in groups) != plan.unresolved or not all(_group_idle(g) for g in groups):
        return False
    for group in groups:
        rule = next((r for r in rules if r.matches_group(group)), None)
        action = rule.action if rule else default_action
        name = rule.name if rule else "default"
        count = int(group["count"])
        if action == "keep":
            plan.kept += count
        elif action == "retry" and rule is None:
            plan.add(name, "retry", "errors/retry/all", count)
        else:
            plan.add(name, action, _group_route(group["id"], action), count)
    _merge_retry_all(plan)
    _collect_group_ids(reader, plan)
    plan.strategy = "whole groups"
    return True


def _collect_group_ids(reader, plan):
    """The ids behind whole-group and retry-all steps, so the result names every message acted on: a group's
    members, and for retry-all every unresolved message not archived."""
    retry_all = plan.uses_retry_all
    for step in plan.steps:
        if step.route.startswith("recoverability/groups/") and not (retry_all and step.action == "retry"):
            group_id = step.route.split("/")[2]
            ids = sorted(v["id"] for v in reader.members(group_id) if v.get("id"))
            (plan.retried_ids if step.action == "retry" else plan.archived_ids).extend(ids)
    if retry_all:
        archived = set(plan.archived_ids)
        plan.retried_ids.extend(sorted(v["id"] for v in reader.unresolved() if v.get("id") and v["id"] not in archived))


def _merge_retry_all(plan):
    """With the default ``retry`` going by retry-all, narrower retries are covered by it: skip their requests."""
    retry_all = [s for s in plan.steps if s.route == "errors/retry/all"]
    if not retry_all:
        return
    total = sum(s.count for s in retry_all)
    for step in plan.steps:
        if step.action == "retry" and step.route != "errors/retry/all":
            step.covered_by_retry_all = True
            # The report names the route that does the work.
            plan.entries[step.rule_name]["routes"] = ["errors/retry/all"]
    plan.steps = [s for s in plan.steps if s.route != "errors/retry/all"]
    plan.steps.append(Step("default", "retry", "errors/retry/all", total))


def _assign(reader, rules):
    """Every unresolved message's first matching rule (or ``default``), with the matched groups and members."""
    now = reader.now or dt.datetime.now(dt.timezone.utc)
    views = {view["id"]: view for view in reader.unresolved() if isinstance(view, dict) and view.get("id")}
    group_of_rule = {}  # rule name -> {group id: group}
    membership = {}  # group id -> set of member ids
    for rule in rules:
        if not rule.has_group_keys:
            continue
        matched = {g["id"]: g for g in reader.matching_groups(rule)}
        group_of_rule[rule.name] = matched
        for group_id in matched:
            if group_id not in membership:
                membership[group_id] = {v["id"] for v in reader.members(group_id) if v.get("id")}
    assigned = {}  # rule name (or "default") -> [ids]
    for message_id, view in views.items():
        owner = "default"
        for rule in rules:
            in_groups = not rule.has_group_keys or any(message_id in membership[g] for g in group_of_rule[rule.name])
            if in_groups and rule.matches_message(view, now):
                owner = rule.name
                break
        assigned.setdefault(owner, []).append(message_id)
    return views, assigned, group_of_rule, membership


def _plan_by_messages(reader, plan, rules, default_action, retry_filter):
    """Assign every unresolved message to the first rule that matches it, then pick routes per selection."""
    views, assigned, group_of_rule, membership = _assign(reader, rules)
    actions = {rule.name: rule.action for rule in rules}
    actions["default"] = default_action
    if retry_filter is not None:
        wanted = [i for name, ids in assigned.items() if actions[name] == "retry" for i in ids]
        allowed, skipped = retry_filter(wanted)
        allowed = set(allowed)
        plan.skipped_ids = sorted(skipped)
        assigned = {
            name: [i for i in ids if i in allowed] if actions[name] == "retry" else ids
            for name, ids in assigned.items()
        }
    use_retry_all = default_action == "retry" and retry_filter is None
    for rule in [*rules, None]:
        name = rule.name if rule else "default"
        ids = assigned.get(name, [])
        action = actions[name]
        if not ids:
            continue
        if action == "keep":
            plan.kept += len(ids)
        elif rule is None and use_retry_all:
            plan.add(name, "retry", "errors/retry/all", len(ids), ids=ids)
        else:
            remaining = ids
            if rule is not None and (action == "archive" or retry_filter is None):
                remaining = _whole_selections(
                    plan, rule, ids, views=views, groups=group_of_rule.get(rule.name, {}), membership=membership
                )
            for batch in _batches(sorted(remaining)):
                plan.add(name, action, _id_route(action), len(batch), body=batch, ids=batch)
    plan.kept += len(plan.skipped_ids)
    if use_retry_all:
        _merge_retry_all(plan)
    plan.strategy = "by message"


def _whole_selections(plan, rule, ids, *, views, groups, membership):
    """Use a bulk route for each part of a rule's selection that is exactly what the route selects."""
    mine = set(ids)
    taken = set()
    for group_id, group in groups.items():
        members = membership[group_id]
        if members and members <= mine and _group_idle(group) and not (members & taken):
            plan.add(rule.name, rule.action, _group_route(group_id, rule.action), len(members), ids=sorted(members))
            taken |= members
    if rule.action == "retry" and rule.only_key in ("queue", "endpoint"):
        value = getattr(rule, rule.only_key)
        field = (
            (lambda v: v.get("queue_address"))
            if rule.only_key == "queue"
            else (lambda v: (v.get("receiving_endpoint") or {}).get("name"))
        )
        everyone = {i for i, v in views.items() if _same(value, field(v))}
        left = mine - taken
        if left and everyone == left:
            route = ("errors/queues/%s/retry" if rule.only_key == "queue" else "errors/%s/retry/all") % quote_segment(
                value
            )
            plan.add(rule.name, "retry", route, len(left), ids=sorted(left))
            taken |= left
    return [i for i in ids if i not in taken]


# -- acting ------------------------------------------------------------------------------------------------------


def execute(client, plan, wait_for_archives):
    """Send the plan's requests in order. Before retry-all, ``wait_for_archives(target)`` must return once the
    archived count reached ``target`` (retry-all would otherwise retry what is being archived)."""
    sent = []
    for step in plan.ordered_steps():
        if step.covered_by_retry_all:
            continue
        if step.route == "errors/retry/all" and plan.archived:
            wait_for_archives(plan.archived_before + plan.archived)
        client.post(step.route, body=step.body)
        sent.append(step.route)
    return sent


class WaitState:
    """What the wait polls for, built from the plan; a plain dict so the action plugin can carry it."""

    @staticmethod
    def from_plan(plan, wait_for, started):
        return {
            "wait_for": wait_for,
            "started": iso(started - dt.timedelta(seconds=1)),
            "kept": plan.kept,
            "archived_target": plan.archived_before + plan.archived if plan.archived else None,
            "acted": plan.retried + plan.archived,
            "acted_ids": sorted(set(plan.retried_ids) | set(plan.archived_ids)),
        }


def poll(reader, state):
    """One look at the instance: ``{"left": n, "done": bool}``; n counts messages acted on still waiting."""
    if state["wait_for"] == "dispatched":
        unresolved = reader.count("unresolved", modified="%s...%s" % (EARLIEST, state["started"]))
    else:
        unresolved = reader.count("unresolved")
    left = max(0, unresolved - state["kept"])
    if state.get("archived_target") and left == 0:
        archived = reader.count("archived")
        left = max(left, state["archived_target"] - archived)
    return {"left": left, "done": left == 0}


def finish(reader, state):
    """``remaining`` and ``refailed`` at the end of the wait."""
    unresolved = reader.count("unresolved")
    refailed = 0
    if state["wait_for"] == "dispatched" and state["acted"]:
        since = "%s...%s" % (state["started"], LATEST)
        if reader.count("unresolved", modified=since):
            acted = set(state.get("acted_ids") or ())
            for view in reader.client.paginate(
                "errors", params={"status": "unresolved", "modified": since}, per_page=LIST_PAGE_SIZE
            ):
                if (view.get("id") in acted) if acted else int(view.get("number_of_processing_attempts") or 1) > 1:
                    refailed += 1
    return {"remaining": max(0, unresolved - refailed), "refailed": refailed}


def wait(reader, state, timeout, poll_interval, *, progress=None, clock=time.monotonic, sleep=time.sleep):
    """Poll until done or ``timeout``; ``progress(left, rate, eta)`` after each poll. Returns the last poll plus
    ``timed_out``."""
    start = clock()
    first = None
    while True:
        result = poll(reader, state)
        now = clock()
        if first is None:
            first = (now, result["left"])
        elapsed = now - first[0]
        rate = (first[1] - result["left"]) / elapsed if elapsed > 0 else 0.0
        eta = result["left"] / rate if rate > 0 else None
        if progress is not None:
            progress(result["left"], rate, eta)
        if result["done"]:
            return dict(result, timed_out=False)
        if now - start + poll_interval > timeout:
            return dict(result, timed_out=True)
        sleep(poll_interval)


def progress_line(left, rate, eta):
    """``failed_messages: 1840 unresolved left, 96/s, about 19 s to go``."""
    text = "failed_messages: %d unresolved left, %.0f/s" % (left, rate)
    if eta is not None:
        text += ", about %d s to go" % round(eta)
    return text


def timeout_message(state, result, timeout, plan_report):
    done = "; ".join(
        "%s: %s %d via %s" % (e["name"], e["action"], e["count"], e["route"])
        for e in plan_report
        if e["count"] and e["route"]
    )
    if state["wait_for"] == "dispatched":
        waiting = "%d of the %d messages acted on are still waiting to be dispatched" % (result["left"], state["acted"])
    else:
        waiting = "%d messages acted on are still unresolved" % result["left"]
    return (
        "failed_messages: timed out after %d s: %s. The requests were accepted (%s) and ServiceControl keeps working "
        "on them (bulk retries are dispatched in batches every 30 s); run the task again to wait for the rest "
        "(it plans only what is still unresolved), or raise timeout." % (timeout, waiting, done or "none")
    )


# -- the backup guard --------------------------------------------------------------------------------------------


def is_backup_of(configuration, primary_configuration):
    """True when this instance ingests the queue the primary forwards to (its ErrorQueue = the primary's
    ErrorLogQueue with ForwardErrorMessages on)."""
    mine = (configuration or {}).get("transport") or {}
    theirs = (primary_configuration or {}).get("transport") or {}
    log_queue = theirs.get("error_log_queue")
    return bool(theirs.get("forward_error_messages")) and bool(log_queue) and _same(log_queue, mine.get("error_queue"))


def primary_filter(primary_client):
    """The guard's check: retry only messages whose primary copy is unresolved with one processing attempt (never
    retried; a retried message is RetryIssued or Resolved, or back with more attempts)."""

    def check(ids):
        if not ids:
            return [], []
        wanted = set(ids)
        eligible = set()
        for view in primary_client.paginate("errors", params={"status": "unresolved"}, per_page=LIST_PAGE_SIZE):
            if view.get("id") in wanted and int(view.get("number_of_processing_attempts") or 0) == 1:
                eligible.add(view["id"])
        return sorted(eligible), sorted(wanted - eligible)

    return check


# -- the info module ---------------------------------------------------------------------------------------------


def _status_key(view):
    return str(view.get("status") or "").lower().replace("_", "")


def read_overview(client, classifier, recent_minutes, include_messages, statuses, *, fields=MESSAGE_FIELDS):
    """``failed_messages_info``: counts per status, groups, breakdowns of the unresolved and recent failures."""
    reader = Reader(client)
    wanted = [s.lower().replace("_", "") for s in statuses] if include_messages else []
    groups = [
        {"id": g["id"], "title": g.get("title"), "count": int(g.get("count") or 0), "classifier": classifier}
        for g in reader.groups(classifier)
    ]
    if set(STATUSES) <= set(wanted):
        # Every message is listed anyway: one read, in large pages, gives the counts, the unresolved breakdown and
        # the messages, consistent with each other (and spares a query per status and a second unresolved read).
        listed = list(
            {
                view.get("id"): view
                for view in client.paginate("errors", params={"status": ",".join(STATUSES)}, per_page=EXPORT_PAGE_SIZE)
            }.values()
        )
        counts = {status: 0 for status in STATUSES}
        for view in listed:
            if _status_key(view) in counts:
                counts[_status_key(view)] += 1
        views = [view for view in listed if _status_key(view) == "unresolved"]
    else:
        counts = {status: reader.count(status) for status in STATUSES}
        page = EXPORT_PAGE_SIZE if include_messages else LIST_PAGE_SIZE
        views = reader.unresolved(page) if counts["unresolved"] else []
        listed = None
    counts["retry_issued"] = counts.pop("retryissued")
    breakdown = {"by_endpoint": {}, "by_message_type": {}, "by_exception_type": {}, "by_queue": {}}
    recent = 0
    now = reader.now or dt.datetime.now(dt.timezone.utc)
    for view in views:
        summary = message_summary(view)
        for key, field in (
            ("by_endpoint", "receiving_endpoint"),
            ("by_message_type", "message_type"),
            ("by_exception_type", "exception_type"),
            ("by_queue", "queue"),
        ):
            value = summary[field] or "(none)"
            breakdown[key][value] = breakdown[key].get(value, 0) + 1
        failed_at = parse_time(summary["time_of_failure"])
        if failed_at is not None and (now - failed_at).total_seconds() <= recent_minutes * 60:
            recent += 1
    result = dict(counts=counts, groups=groups, recent_failures=recent, **breakdown)
    if include_messages:
        if listed is None:
            if wanted == ["unresolved"]:
                listed = views
            else:
                listed = list(client.paginate("errors", params={"status": ",".join(wanted)}, per_page=page))
        # Only the fields asked for: thousands of messages pass through Ansible's result handling, which costs
        # seconds per field at 5,000 messages (docs/benchmarks.md).
        chosen = [name for name in MESSAGE_FIELDS if name in set(fields or MESSAGE_FIELDS)]
        result["messages"] = [{name: summary[name] for name in chosen} for summary in map(message_summary, listed)]
    return result
