# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory ServiceControl Error instance behind httpx.MockTransport, for the drain tests.

It answers the failed-message routes with ServiceControl's shapes (FailedMessageView, GroupOperation, Total-Count,
Link only above 50 items, 202 with an empty body) and carries requests out asynchronously: an accepted request
takes effect ``lag`` requests later, as ServiceControl's handlers do it after the controller answered.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote

import httpx

from ansible_collections.servicecontrol.platform.plugins.module_utils._api import ServiceControlClient

DEFAULT_CLASSIFIER = "Exception Type and Stack Trace"
NOW = dt.datetime(2026, 8, 20, 12, 0, 0, tzinfo=dt.timezone.utc)
STATUS_JSON = {"unresolved": "unresolved", "retryissued": "retryIssued", "archived": "archived", "resolved": "resolved"}


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def parse(text):
    return dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00"))


class FakeErrorInstance:
    def __init__(
        self, *, lag=1, ingesting=False, refail=(), error_queue="error", error_log_queue="error.log", forwarding=False
    ):
        self.messages = {}
        self.groups = {}  # group id -> {id, title, type}
        self.lag = lag
        self.ingesting = ingesting
        self.refail = set(refail)  # ids whose retry fails again
        self.pending = []  # [requests until due, callable]
        self.requests = []
        self.now = NOW
        self.busy_groups = set()
        self.configuration = {
            "host": {"instance_name": "Particular.ServiceControl"},
            "transport": {
                "transport_type": "LearningTransport",
                "error_queue": error_queue,
                "error_log_queue": error_log_queue,
                "forward_error_messages": forwarding,
            },
        }

    # -- data ----------------------------------------------------------------------------------------------------
    def add_group(self, group_id, title, classifier=DEFAULT_CLASSIFIER):
        self.groups[group_id] = {"id": group_id, "title": title, "type": classifier}

    def add(
        self,
        unique_id,
        *,
        group,
        endpoint="Sales",
        message_type="Sales.PlaceOrder",
        exception_type="System.InvalidOperationException",
        queue=None,
        age=dt.timedelta(hours=1),
        status="unresolved",
        attempts=1,
        extra_groups=(),
    ):
        failed_at = self.now - age
        self.messages[unique_id] = {
            "id": unique_id,
            "message_type": message_type,
            "time_sent": iso(failed_at),
            "is_system_message": False,
            "exception": {
                "exception_type": exception_type,
                "message": "boom",
                "source": "Sales",
                "stack_trace": exception_type + ": boom\n   at Handler.Handle()",
            },
            "message_id": "m-" + unique_id,
            "number_of_processing_attempts": attempts,
            "status": status,
            "sending_endpoint": {"name": "ClientUI", "host_id": "h1", "host": "web-01"},
            "receiving_endpoint": {"name": endpoint, "host_id": "h2", "host": "app-01"},
            "queue_address": queue or endpoint,
            "time_of_failure": iso(failed_at),
            "last_modified": iso(failed_at),
            "edited": False,
            "edit_of": "",
            "_groups": [group, *extra_groups],
        }

    def statuses(self):
        result = {}
        for message in self.messages.values():
            result[message["status"]] = result.get(message["status"], 0) + 1
        return result

    def status_of(self, unique_id):
        return self.messages[unique_id]["status"]

    # -- asynchronous work ---------------------------------------------------------------------------------------
    def _later(self, work):
        self.pending.append([self.lag, work])

    def _tick(self):
        due = []
        for item in self.pending:
            item[0] -= 1
            if item[0] < 0:
                due.append(item)
        for item in due:
            self.pending.remove(item)
            item[1]()

    def _set(self, message, status):
        message["status"] = status
        self.now += dt.timedelta(milliseconds=1)
        message["last_modified"] = iso(self.now)

    def _retry(self, selection):
        """``selection``: a list of ids, or a predicate evaluated when the work is done (as ServiceControl does)."""

        def work():
            ids = self._unresolved(selection) if callable(selection) else selection
            for unique_id in ids:
                message = self.messages.get(unique_id)
                if message is None or message["status"] != "unresolved":
                    continue
                if unique_id in self.refail:
                    if self.ingesting:
                        message["number_of_processing_attempts"] += 1
                        self._set(message, "unresolved")
                    else:
                        self._set(message, "retryIssued")  # the re-failure waits in the error queue
                else:
                    self._set(message, "resolved")

        return work

    def _archive(self, selection):
        def work():
            ids = self._unresolved(selection) if callable(selection) else selection
            for unique_id in ids:
                message = self.messages.get(unique_id)
                if message is not None and message["status"] == "unresolved":
                    self._set(message, "archived")

        return work

    def _unresolved(self, predicate=lambda m: True):
        return [i for i, m in self.messages.items() if m["status"] == "unresolved" and predicate(m)]

    # -- HTTP ----------------------------------------------------------------------------------------------------
    def __call__(self, request):
        self.requests.append((request.method, request.url.path, dict(request.url.params)))
        self._tick()
        path = unquote(request.url.raw_path.decode().split("?")[0])
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        method = request.method
        body = json.loads(request.content) if request.content else None
        if path == "/api/configuration":
            return self._json(self.configuration)
        if path == "/api/errors" and method in ("GET", "HEAD"):
            return self._list(request, self._filter(self.messages.values(), query), query)
        if path.startswith("/api/recoverability/groups/") and path.endswith("/errors") and method in ("GET", "HEAD"):
            group_id = path.split("/")[4]
            members = [m for m in self.messages.values() if group_id in m["_groups"]]
            return self._list(request, self._filter(members, query), query)
        if path.startswith("/api/recoverability/groups/") and method == "GET":
            return self._json(self._group_operations(path[len("/api/recoverability/groups/") :], query))
        if method == "POST":
            return self._post(path, body)
        return httpx.Response(404)

    def _post(self, path, body):
        parts = path.split("/")
        if path == "/api/errors/retry/all":
            work = self._retry(lambda m: True)
        elif path == "/api/errors/retry":
            work = self._retry(list(body))
        elif path == "/api/errors/archive":
            work = self._archive(list(body))
        elif path.startswith("/api/errors/queues/") and path.endswith("/retry"):
            queue = parts[4].lower()
            work = self._retry(lambda m: m["queue_address"].lower() == queue)
        elif path.startswith("/api/errors/") and path.endswith("/retry/all"):
            endpoint = parts[3].lower()
            work = self._retry(lambda m: m["receiving_endpoint"]["name"].lower() == endpoint)
        elif path.startswith("/api/recoverability/groups/") and path.endswith("/errors/retry"):
            group_id = parts[4]
            # ServiceControl ignores a group request while an operation on the group is in progress.
            work = None if group_id in self.busy_groups else self._retry(lambda m: group_id in m["_groups"])
        elif path.startswith("/api/recoverability/groups/") and path.endswith("/errors/archive"):
            group_id = parts[4]
            work = self._archive(lambda m: group_id in m["_groups"])
        else:
            return httpx.Response(404)
        if work is not None:
            self._later(work)
        return httpx.Response(202, headers=self._headers())

    def _filter(self, messages, query):
        result = list(messages)
        if "status" in query:
            wanted = {STATUS_JSON[s.strip().lower()] for s in query["status"].split(",")}
            result = [m for m in result if m["status"] in wanted]
        if "modified" in query:
            first, last = (parse(t) for t in query["modified"].split("..."))
            result = [m for m in result if first <= parse(m["last_modified"]) <= last]
        return result

    def _headers(self, **extra):
        return {"X-Particular-Version": "6.19.2", "Date": format_datetime(self.now, usegmt=True), **extra}

    def _json(self, body, **headers):
        return httpx.Response(200, json=body, headers=self._headers(**headers))

    def _list(self, request, items, query):
        items = sorted(items, key=lambda m: (m["time_of_failure"], m["id"]))
        headers = {"Total-Count": str(len(items))}
        if request.method == "HEAD":
            return httpx.Response(200, headers=self._headers(**headers))
        per_page = int(query.get("per_page") or 50)
        page = int(query.get("page") or 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        if len(items) > 50 and page < math.ceil(len(items) / per_page):
            others = "&".join("%s=%s" % (k, v) for k, v in query.items() if k != "page")
            route = request.url.path.replace("/api/", "", 1)
            headers["Link"] = '<%s?%s&page=%d>; rel="next"' % (route, others, page + 1)
        views = [{k: v for k, v in m.items() if not k.startswith("_")} for m in chunk]
        return self._json(views, **headers)

    def _group_operations(self, classifier, query):
        """GroupFetcher over GroupsDataStore: at most 200 groups; ``classifierFilter`` selects one exact title."""
        classifier = unquote(classifier)
        result = []
        for group in self.groups.values():
            if group["type"] != classifier:
                continue
            if query.get("classifierFilter") and group["title"] != query["classifierFilter"]:
                continue
            if len(result) == 200:
                break
            count = len(self._unresolved(lambda m, g=group["id"]: g in m["_groups"]))
            if not count:
                continue
            busy = group["id"] in self.busy_groups
            result.append(
                {
                    "id": group["id"],
                    "title": group["title"],
                    "type": classifier,
                    "count": count,
                    "first": iso(NOW),
                    "last": iso(NOW),
                    "operation_status": "Forwarding" if busy else "None",
                    "operation_failed": False,
                    "operation_progress": 0.0,
                    "operation_remaining_count": 0,
                    "need_user_acknowledgement": False,
                }
            )
        return result


GROUP_A, GROUP_B, GROUP_C = (
    "a0000000-0000-0000-0000-00000000000a",
    "b0000000-0000-0000-0000-00000000000b",
    "c0000000-0000-0000-0000-00000000000c",
)


def client_for(instance):
    client = ServiceControlClient("http://sc:33333/api", transport=httpx.MockTransport(instance), retries=0)
    return client


def three_groups(**options):
    instance = FakeErrorInstance(**options)
    instance.add_group(GROUP_A, "System.InvalidOperationException: Sales.PlaceOrderHandler.Handle()")
    instance.add_group(GROUP_B, "System.FormatException: Billing.ChargeHandler.Handle()")
    instance.add_group(GROUP_C, "System.TimeoutException: Shipping.ShipHandler.Handle()")
    for n in range(4):
        instance.add("a%d" % n, group=GROUP_A, endpoint="Sales", message_type="Sales.PlaceOrder")
    for n in range(3):
        instance.add(
            "b%d" % n,
            group=GROUP_B,
            endpoint="Billing",
            message_type="Billing.Charge",
            exception_type="System.FormatException",
            age=dt.timedelta(days=10 if n else 1),
        )
    for n in range(2):
        instance.add(
            "c%d" % n,
            group=GROUP_C,
            endpoint="Shipping",
            message_type="Shipping.Ship",
            exception_type="System.TimeoutException",
        )
    return instance
