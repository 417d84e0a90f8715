"""The HTTP APIs of the lab Error and Audit instances (routes as in ServiceControl 6.19.2's controllers)."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from lab.instance import common as c
from lab.instance import error as e
from lab.instance.audit import AuditInstance, audit_counts, audit_messages_view
from lab.instance.error import ErrorInstance
from lab.instance.http import (
    HttpError,
    Request,
    Response,
    Router,
    etag_of,
    list_response,
    page_of,
    paging,
    paging_links,
    sorting,
)
from lab.settings import format_timespan

log = logging.getLogger("lab.instance.api")
REMOTE_TIMEOUT = 10.0
SEARCH_URL = "endpoints/{name}/messages/search/{keyword}/{?page,per_page,direction,sort}"
DEFAULT_CLASSIFIER = "Exception Type and Stack Trace"


def instance_id_for(api_url: str) -> str:
    """InstanceIdGenerator.FromApiUrl: URL-safe base64 of the lower-cased URL ('=' becomes '.')."""
    encoded = base64.b64encode(api_url.lower().encode("utf-8")).decode("ascii")
    return encoded.replace("+", "-").replace("/", "_").replace("=", ".")


def _accepted() -> Response:
    return Response(202)


def _base_url(request: Request) -> str:
    host = request.headers.get("host", "localhost")
    return "http://%s%s/" % (host, request.path.rstrip("/"))


def _parse_status_filter(status: str | None):
    """FilterByStatusWhere: comma list, case-insensitive names (or numbers), ``-`` excludes."""
    if status is None:
        return None, []
    includes, excludes = [], []

    def value_of(text: str):
        if text.lstrip("-").isdigit():
            return int(text)
        return e.STATUS_VALUES.get(text.lower())

    for item in status.replace(" ", "").split(","):
        if item.startswith("-"):
            parsed = value_of(item[1:])
            if parsed is not None:
                excludes.append(parsed)
            continue
        parsed = value_of(item)
        if parsed is not None:
            includes.append(parsed)
    return (includes or None), excludes


def _parse_modified(modified: str | None):
    if modified is None:
        return None
    message = (
        "Invalid modified date range, dates need to be in ISO8601 format and it needs to be a range eg. "
        "2016-03-11T00:27:15.474Z...2016-03-16T03:27:15.474Z"
    )
    parts = modified.split("...")
    if len(parts) != 2:
        raise HttpError(500, message)
    try:
        return c.parse_iso(parts[0]), c.parse_iso(parts[1])
    except ValueError:
        raise HttpError(500, message) from None


def _filter_failed(docs: list[dict], status: str | None, modified: str | None, queue_address: str | None) -> list[dict]:
    includes, excludes = _parse_status_filter(status)
    window = _parse_modified(modified)
    result = []
    for doc in docs:
        if includes is not None and doc["status"] not in includes:
            continue
        if doc["status"] in excludes:
            continue
        if window is not None and not window[0] <= c.parse_iso(doc["last_modified"]) <= window[1]:
            continue
        if queue_address and (e.queue_address_of(doc) or "").lower() != queue_address.lower():
            continue
        result.append(doc)
    return result


def _sort_failed(docs: list[dict], sort: str, direction: str) -> list[dict]:
    def key(doc: dict):
        view = e.failed_message_view(doc)
        field = {
            "id": "message_id",
            "message_id": "message_id",
            "message_type": "message_type",
            "status": None,
            "modified": "last_modified",
            "time_of_failure": "time_of_failure",
        }.get(sort, "time_sent")
        if field is None:
            return (1, doc["status"])
        value = view.get(field)
        if value is None:
            return (0, "")
        if field in ("last_modified", "time_of_failure", "time_sent"):
            return (1, c.parse_iso(value).isoformat())
        return (1, value)

    return sorted(docs, key=key, reverse=direction == "desc")


_MESSAGE_SORT_FIELDS = {
    "id": "message_id",
    "message_id": "message_id",
    "message_type": "message_type",
    "critical_time": "critical_time",
    "delivery_time": "delivery_time",
    "time_sent": "time_sent",
    "processing_time": "processing_time",
    "processed_at": "processed_at",
    "status": "status",
}
_MESSAGE_STATUS_ORDER = [
    "failed",
    "repeatedFailure",
    "successful",
    "resolvedSuccessfully",
    "archivedFailure",
    "retryIssued",
]


def _message_sort_key(sort: str):
    field = _MESSAGE_SORT_FIELDS.get(sort)
    if field is None:
        # MessageViewComparer has no comparer for the other allowed sort options.
        raise HttpError(500, "Specified argument was out of the range of valid values. (Parameter 'sortInfo')")

    def key(view: dict):
        value = view.get(field)
        if field == "status":
            return (1, _MESSAGE_STATUS_ORDER.index(value) if value in _MESSAGE_STATUS_ORDER else 0)
        if value is None:
            return (0, "")
        if field in ("time_sent", "processed_at"):
            return (1, c.parse_iso(value).isoformat())
        return (1, value)

    return key


def _matches_keyword(view: dict, keyword: str | None) -> bool:
    if not keyword:
        return True
    needle = keyword.lower()
    haystack = [view.get("message_id") or "", view.get("message_type") or ""]
    haystack += [str(h["value"]) for h in view.get("headers", [])]
    return any(needle in text.lower() for text in haystack)


def _configuration_root(request: Request, name: str, extra: dict) -> dict:
    base = _base_url(request)
    urls = {
        "description": "The management backend for the Particular Service Platform",
        "name": name,
        "configuration": base + "configuration",
    }
    urls.update({k: (base + v if not v.startswith("/") else v) for k, v in extra.items()})
    return urls


# ====================================================================== Error instance


class ErrorApi:
    def __init__(self, instance: ErrorInstance) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.instance_id = instance_id_for(self.settings.api_url)
        self.remotes = [
            {"base": r.base_address, "api_uri": r.api_uri, "instance_id": instance_id_for(r.base_address)}
            for r in self.settings.remote_instances
        ]
        self.router = Router()
        self._routes()

    def _routes(self) -> None:
        routes = [
            ("GET", "/api", self.root),
            ("GET", "/api/configuration", self.configuration),
            ("GET", "/api/instance-info", self.configuration),
            ("GET", "/api/configuration/remotes", self.remote_configuration),
            ("GET", "/api/connection", self.connection),
            ("GET", "/api/license", self.license),
            # Literal segments are registered before parameters (ASP.NET Core route precedence).
            ("GET", "/api/errors/summary", self.errors_summary),
            ("GET", "/api/errors/queues/addresses", self.queue_addresses),
            ("GET", "/api/errors/groups/{classifier?}", self.archived_groups),
            ("GET", "/api/errors", self.errors_get),
            ("HEAD", "/api/errors", self.errors_head),
            ("GET", "/api/errors/last/{failed_message_id}", self.error_last),
            ("GET", "/api/errors/{failed_message_id}", self.error_by_id),
            ("GET", "/api/endpoints/{endpoint_name}/errors", self.errors_by_endpoint),
            ("POST", "/api/errors/retry/all", self.retry_all),
            ("POST", "/api/errors/retry", self.retry_by_ids),
            ("POST", "/api/errors/queues/{queue_address}/retry", self.retry_by_queue),
            ("POST", "/api/errors/{endpoint_name}/retry/all", self.retry_all_for_endpoint),
            ("POST", "/api/errors/{failed_message_id}/retry", self.retry_one),
            ("POST", "/api/pendingretries/retry", self.pending_retry_ids),
            ("POST", "/api/pendingretries/queues/retry", self.pending_retry_queue),
            ("PATCH", "/api/pendingretries/resolve", self.pending_resolve),
            ("PATCH", "/api/pendingretries/queues/resolve", self.pending_resolve_queue),
            ("POST,PATCH", "/api/errors/archive", self.archive_batch),
            ("PATCH", "/api/errors/unarchive", self.unarchive_batch),
            ("PATCH", "/api/errors/{start}...{end}/unarchive", self.unarchive_range),
            ("POST,PATCH", "/api/errors/{failed_message_id}/archive", self.archive_one),
            ("GET", "/api/archive/groups/id/{group_id}", self.archived_group),
            ("GET", "/api/recoverability/classifiers", self.classifiers),
            ("GET", "/api/recoverability/history", self.history),
            ("GET", "/api/recoverability/groups/id/{group_id}", self.group_by_id),
            ("GET", "/api/recoverability/groups/{group_id}/errors", self.group_errors),
            ("HEAD", "/api/recoverability/groups/{group_id}/errors", self.group_errors_head),
            ("POST", "/api/recoverability/groups/{group_id}/errors/retry", self.group_retry),
            ("POST", "/api/recoverability/groups/{group_id}/errors/archive", self.group_archive),
            ("POST", "/api/recoverability/groups/{group_id}/errors/unarchive", self.group_unarchive),
            ("POST", "/api/recoverability/groups/{group_id}/comment", self.group_comment),
            ("DELETE", "/api/recoverability/groups/{group_id}/comment", self.group_comment_delete),
            ("GET", "/api/recoverability/groups/{classifier?}", self.groups),
            ("DELETE", "/api/recoverability/unacknowledgedgroups/{group_id}", self.acknowledge),
            ("GET", "/api/endpoints/known", self.endpoints_known),
            ("GET", "/api/endpoints", self.endpoints),
            ("PATCH", "/api/endpoints/{endpoint_id}", self.endpoint_patch),
            ("DELETE", "/api/endpoints/{endpoint_id}", self.endpoint_delete),
            ("GET", "/api/heartbeats/stats", self.heartbeat_stats),
            ("GET", "/api/customchecks", self.custom_checks),
            ("DELETE", "/api/customchecks/{check_id}", self.custom_check_delete),
            ("GET", "/api/messages/search", self.messages_search),
            ("GET", "/api/messages/search/{keyword}", self.messages_search),
            ("GET", "/api/messages/{message_id}/body", self.message_body),
            ("GET", "/api/messages", self.messages),
            ("GET", "/api/endpoints/{endpoint}/messages/search/{keyword}", self.messages_search),
            ("GET", "/api/endpoints/{endpoint}/messages", self.messages),
        ]
        for methods, template, handler in routes:
            self.router.add(methods, template, handler)

    # ------------------------------------------------------------------ discovery

    def root(self, request: Request) -> Response:
        return Response(
            200,
            _configuration_root(
                request,
                "ServiceControl",
                {
                    "endpoints_error_url": "endpoints/{name}/errors/{?page,per_page,direction,sort}",
                    "known_endpoints_url": "/endpoints/known",
                    "endpoints_message_search_url": SEARCH_URL,
                    "endpoints_messages_url": "endpoints/{name}/messages/{?page,per_page,direction,sort}",
                    "audit_count_url": "endpoints/{name}/audit-count",
                    "endpoints_url": "endpoints",
                    "errors_url": "errors/{?page,per_page,direction,sort}",
                    "remote_configuration": "configuration/remotes",
                    "message_search_url": "messages/search/{keyword}/{?page,per_page,direction,sort}",
                    "license_details": "license",
                    "sagas_url": "sagas",
                    "event_log_items": "eventlogitems",
                    "archived_groups_url": "errors/groups/{classifier?}",
                    "get_archive_group": "archive/groups/id/{groupId}",
                    "my_routes_url": "my/routes",
                },
            )
            | {"license_status": "valid"},
        )

    def configuration(self, request: Request) -> Response:
        s = self.settings
        return Response(
            200,
            {
                "host": {
                    "instance_name": s.instance_name,
                    "logging": c.compact(log_path=s.log_path, logging_level="Info"),
                },
                "data_retention": c.compact(
                    audit_retention_period=format_timespan(s.audit_retention_period)
                    if s.audit_retention_period
                    else None,
                    error_retention_period=format_timespan(s.error_retention_period),
                ),
                "performance_tunning": {
                    "external_integrations_dispatching_batch_size": s.external_integrations_dispatching_batch_size
                },
                "persistence_settings": c.compact(database_path=str(self.instance.store.path.parent)),
                "transport": c.compact(
                    transport_type=s.transport_type,
                    error_log_queue=s.error_log_queue,
                    error_queue=s.error_queue,
                    forward_error_messages=s.forward_error_messages,
                ),
                "plugins": {"heartbeat_grace_period": s.heartbeat_grace_period},
            },
        )

    def remote_configuration(self, request: Request) -> Response:
        def fetch(remote: dict) -> dict:
            status, version, config = "online", "Unknown", None
            url = _absolute(remote["base"], "/api/configuration")
            try:
                with urllib.request.urlopen(url, timeout=REMOTE_TIMEOUT) as response:  # noqa: S310 - configured remote
                    version = response.headers.get("X-Particular-Version", version) or "Missing"
                    config = json.loads(response.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                # HttpClient does not throw for error status codes: the body is parsed as it is.
                version = exc.headers.get("X-Particular-Version", version) or "Missing"
                try:
                    config = json.loads(exc.read().decode("utf-8"))
                except ValueError:
                    status = "error"
            except (urllib.error.URLError, ConnectionError) as exc:
                # A transport-level failure has no status code: HttpRequestException -> "unavailable".
                status = "error" if isinstance(getattr(exc, "reason", None), TimeoutError) else "unavailable"
            except Exception:
                status = "error"
            return c.compact(api_uri=remote["base"], version=version, status=status, configuration=config)

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(self.remotes))) as pool:
            results = list(pool.map(fetch, self.remotes))
        return Response(200, results)

    def connection(self, request: Request) -> Response:
        return Response(200, {"settings": {}, "errors": []})

    def license(self, request: Request) -> Response:
        return Response(200, {"trial_license": True, "edition": "Lab", "license_status": "Valid", "status": "valid"})

    # ------------------------------------------------------------------ failed messages

    def _list(self, request: Request, docs: list[dict]) -> Response:
        page, per_page = paging(request)
        sort, direction = sorting(request)
        ordered = _sort_failed(docs, sort, direction)
        views = [e.failed_message_view(d) for d in page_of(ordered, page, per_page)]
        return list_response(request, views, len(docs), page, per_page, etag_data=etag_of(views) + str(len(docs)))

    def errors_get(self, request: Request) -> Response:
        docs = _filter_failed(
            self.instance.failed_messages(),
            request.query("status"),
            request.query("modified"),
            request.query("queueaddress"),
        )
        return self._list(request, docs)

    def errors_head(self, request: Request) -> Response:
        docs = _filter_failed(
            self.instance.failed_messages(),
            request.query("status"),
            request.query("modified"),
            request.query("queueaddress"),
        )
        return Response(200, None, [("Total-Count", str(len(docs))), ("ETag", '"%s"' % etag_of(docs))])

    def errors_by_endpoint(self, request: Request, endpoint_name: str) -> Response:
        docs = [
            d
            for d in _filter_failed(
                self.instance.failed_messages(), request.query("status"), request.query("modified"), None
            )
            if ((e.receiving_of(d) or {}).get("name") or "").lower() == endpoint_name.lower()
        ]
        return self._list(request, docs)

    def errors_summary(self, request: Request) -> Response:
        summary = {"Endpoints": {}, "Hosts": {}, "Message types": {}}
        for doc in self.instance.failed_messages():
            if doc["status"] != e.UNRESOLVED:
                continue
            receiving = e.receiving_of(doc) or {}
            mtype = e.last_attempt(doc)["message_metadata"].get("MessageType")
            for facet, value in (
                ("Endpoints", receiving.get("name")),
                ("Hosts", receiving.get("host")),
                ("Message types", mtype),
            ):
                if value is not None:
                    summary[facet][value] = summary[facet].get(value, 0) + 1
        return Response(200, summary)

    def error_by_id(self, request: Request, failed_message_id: str) -> Response:
        doc = self.instance.failed_message(failed_message_id)
        if doc is None:
            return Response(404)
        return Response(200, e.failed_message_document(doc))

    def error_last(self, request: Request, failed_message_id: str) -> Response:
        doc = self.instance.failed_message(failed_message_id)
        if doc is None:
            return Response(404)
        return Response(200, e.failed_message_view(doc))

    def queue_addresses(self, request: Request) -> Response:
        counts: dict[str, int] = {}
        for doc in self.instance.failed_messages():
            if doc["status"] == e.UNRESOLVED:
                address = e.queue_address_of(doc)
                counts[address] = counts.get(address, 0) + 1
        items = [{"physical_address": k, "failed_message_count": v} for k, v in sorted(counts.items())]
        page, per_page = paging(request)
        return list_response(
            request, page_of(items, page, per_page), len(items), page, per_page, etag_data=etag_of(items)
        )

    # ------------------------------------------------------------------ retries

    def _id_list(self, request: Request, invalid_status: int = 400) -> list[str]:
        ids = request.json()
        if not isinstance(ids, list):
            raise HttpError(400, "A non-empty request body is required.")
        if any(not isinstance(i, str) or not i for i in ids):
            if invalid_status == 422:
                return None
            raise HttpError(400)
        return ids

    def retry_one(self, request: Request, failed_message_id: str) -> Response:
        target = request.query("instance_id")
        if target and target != self.instance_id:
            remote = next((r for r in self.remotes if r["instance_id"] == target), None)
            if remote is None:
                return Response(400)
            return _forward(request, remote["base"])
        self.instance.send_command(e.CMD_RETRY_MESSAGE, {"FailedMessageId": failed_message_id})
        return _accepted()

    def retry_by_ids(self, request: Request) -> Response:
        ids = self._id_list(request)
        self.instance.send_command(e.CMD_RETRY_BY_IDS, {"MessageUniqueIds": ids})
        return _accepted()

    def retry_by_queue(self, request: Request, queue_address: str) -> Response:
        self.instance.send_command(e.CMD_RETRY_BY_QUEUE, {"QueueAddress": queue_address, "Status": 1})
        return _accepted()

    def retry_all(self, request: Request) -> Response:
        self.instance.send_command(e.CMD_RETRY_ALL, {"Endpoint": None})
        return _accepted()

    def retry_all_for_endpoint(self, request: Request, endpoint_name: str) -> Response:
        self.instance.send_command(e.CMD_RETRY_ALL, {"Endpoint": endpoint_name})
        return _accepted()

    def pending_retry_ids(self, request: Request) -> Response:
        ids = self._id_list(request)
        self.instance.send_command(e.CMD_RETRY_PENDING_BY_IDS, {"MessageUniqueIds": ids})
        return _accepted()

    def _queue_range(self, request: Request) -> dict:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400)
        lowered = {k.lower(): v for k, v in body.items()}
        try:
            start = c.json_date(c.parse_iso(lowered["from"]))
            end = c.json_date(c.parse_iso(lowered["to"]))
        except (KeyError, TypeError, ValueError):
            raise HttpError(400) from None
        return {"QueueAddress": lowered.get("queueaddress"), "PeriodFrom": start, "PeriodTo": end}

    def pending_retry_queue(self, request: Request) -> Response:
        self.instance.send_command(e.CMD_RETRY_PENDING, self._queue_range(request))
        return _accepted()

    def pending_resolve(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400)
        lowered = {k.lower(): v for k, v in body.items()}
        ids = lowered.get("uniquemessageids")
        if ids:
            for unique_id in ids:
                self.instance.send_command(e.CMD_RESOLVE_PENDING, {"FailedMessageId": unique_id})
            return _accepted()
        try:
            start = c.json_date(c.parse_iso(lowered["from"]))
            end = c.json_date(c.parse_iso(lowered["to"]))
        except (KeyError, TypeError, ValueError):
            raise HttpError(400) from None
        self.instance.send_command(
            e.CMD_RESOLVE_PENDING_RANGE, {"QueueAddress": None, "PeriodFrom": start, "PeriodTo": end}
        )
        return _accepted()

    def pending_resolve_queue(self, request: Request) -> Response:
        self.instance.send_command(e.CMD_RESOLVE_PENDING_RANGE, self._queue_range(request))
        return _accepted()

    # ------------------------------------------------------------------ archive

    def archive_batch(self, request: Request) -> Response:
        ids = self._id_list(request, invalid_status=422)
        if ids is None:
            return Response(422, {"messageIds": ["Cannot contain null or empty message IDs."]})
        for unique_id in ids:
            self.instance.send_command(e.CMD_ARCHIVE, {"FailedMessageId": unique_id, "Scope": "Batch"})
        return _accepted()

    def archive_one(self, request: Request, failed_message_id: str) -> Response:
        self.instance.send_command(e.CMD_ARCHIVE, {"FailedMessageId": failed_message_id, "Scope": "Single"})
        return _accepted()

    def unarchive_batch(self, request: Request) -> Response:
        ids = self._id_list(request)
        self.instance.send_command(e.CMD_UNARCHIVE, {"FailedMessageIds": ids})
        return _accepted()

    def unarchive_range(self, request: Request, start: str, end: str) -> Response:
        try:
            first, last = c.parse_iso(start), c.parse_iso(end)
        except ValueError:
            return Response(400)
        self.instance.send_command(e.CMD_UNARCHIVE_RANGE, {"From": c.json_date(first), "To": c.json_date(last)})
        return _accepted()

    def archived_groups(self, request: Request, classifier: str = DEFAULT_CLASSIFIER) -> Response:
        views = [
            c.compact(**{**g, "first": c.json_date(g["first"]), "last": c.json_date(g["last"])})
            for g in self.instance.group_views(classifier, None, archived=True)
        ]
        response = Response(200, views)
        response.headers.append(("ETag", '"%s"' % etag_of(views)))
        return response

    def archived_group(self, request: Request, group_id: str) -> Response:
        view = self.instance.group_view(group_id, archived=True)
        if view is None or "count" not in view:
            return Response(404)
        return Response(
            200, c.compact(**{**view, "first": c.json_date(view["first"]), "last": c.json_date(view["last"])})
        )

    # ------------------------------------------------------------------ recoverability

    def classifiers(self, request: Request) -> Response:
        return Response(200, list(c.CLASSIFIERS), [("Total-Count", str(len(c.CLASSIFIERS)))])

    def groups(self, request: Request, classifier: str = DEFAULT_CLASSIFIER) -> Response:
        classifier_filter = request.query("classifierFilter")
        if classifier_filter == "undefined":
            classifier_filter = None
        result = self.instance.group_operations(classifier, classifier_filter)
        response = Response(200, result)
        response.headers.append(("ETag", '"%s"' % etag_of(result)))
        return response

    def _group_docs(self, request: Request, group_id: str) -> list[dict]:
        docs = [
            d for d in self.instance.failed_messages() if any(g["id"] == group_id for g in d.get("failure_groups", []))
        ]
        return _filter_failed(docs, request.query("status"), request.query("modified"), None)

    def group_errors(self, request: Request, group_id: str) -> Response:
        return self._list(request, self._group_docs(request, group_id))

    def group_errors_head(self, request: Request, group_id: str) -> Response:
        docs = self._group_docs(request, group_id)
        return Response(200, None, [("Total-Count", str(len(docs))), ("ETag", '"%s"' % etag_of(docs))])

    def group_by_id(self, request: Request, group_id: str) -> Response:
        view = self.instance.group_view(group_id)
        if view is None or "count" not in view:
            return Response(404)
        return Response(
            200, c.compact(**{**view, "first": c.json_date(view["first"]), "last": c.json_date(view["last"])})
        )

    def group_retry(self, request: Request, group_id: str) -> Response:
        if not self.instance.operation_in_progress(group_id, "failureGroup"):
            group = self.instance.group_view(group_id)
            self.instance.wait_operation(
                group_id, "failureGroup", group["title"] if group else None, group["type"] if group else None
            )
            self.instance.send_command(e.CMD_RETRY_GROUP, {"GroupId": group_id, "Started": c.json_date(c.utcnow())})
        return _accepted()

    def group_archive(self, request: Request, group_id: str) -> Response:
        if not self.instance.archive_in_progress(group_id):
            self.instance.start_archive_operation(group_id, unarchive=False)
            self.instance.send_command(e.CMD_ARCHIVE_GROUP, {"GroupId": group_id})
        return _accepted()

    def group_unarchive(self, request: Request, group_id: str) -> Response:
        if not self.instance.archive_in_progress(group_id):
            self.instance.start_archive_operation(group_id, unarchive=True)
            self.instance.send_command(e.CMD_UNARCHIVE_GROUP, {"GroupId": group_id})
        return _accepted()

    def group_comment(self, request: Request, group_id: str) -> Response:
        self.instance.store.put(e.GROUP_COMMENTS, group_id, {"id": group_id, "comment": request.query("comment")})
        return _accepted()

    def group_comment_delete(self, request: Request, group_id: str) -> Response:
        self.instance.store.delete(e.GROUP_COMMENTS, group_id)
        return _accepted()

    def history(self, request: Request) -> Response:
        history = self.instance.retry_history()
        response = Response(200, history)
        identifier = ",".join(h["request_id"] for h in history["historic_operations"])
        if identifier:
            response.headers.append(("ETag", '"%s"' % c.deterministic_guid(identifier)))
        return response

    def acknowledge(self, request: Request, group_id: str) -> Response:
        return Response(200) if self.instance.acknowledge_group(group_id) else Response(404)

    # ------------------------------------------------------------------ endpoints, heartbeats, custom checks

    def _endpoint_views(self) -> list[dict]:
        grace = 40.0
        views = []
        for doc in self.instance.store.all(e.KNOWN_ENDPOINTS):
            last = doc.get("last_report_at")
            beating = last is not None and (c.utcnow() - c.parse_iso(last)).total_seconds() <= grace
            views.append(
                c.compact(
                    id=doc["id"],
                    name=doc["name"],
                    host_display_name=doc.get("host_display_name"),
                    monitored=doc.get("monitored", False),
                    monitor_heartbeat=doc.get("monitor_heartbeat", False),
                    heartbeat_information=c.compact(
                        last_report_at=last, reported_status="beating" if beating else "dead"
                    )
                    if last
                    else None,
                    is_sending_heartbeats=last is not None,
                )
            )
        return views

    def endpoints(self, request: Request) -> Response:
        return Response(200, self._endpoint_views())

    def endpoints_known(self, request: Request) -> Response:
        docs = self.instance.store.all(e.KNOWN_ENDPOINTS)
        views = [
            {
                "id": d["id"],
                "endpoint_details": {"name": d["name"], "host_id": d["host_id"], "host": d.get("host_display_name")},
                "host_display_name": d.get("host_display_name"),
                "monitored": d.get("monitored", False),
            }
            for d in docs
        ]
        return Response(200, views, [("Total-Count", str(len(views)))])

    def endpoint_patch(self, request: Request, endpoint_id: str) -> Response:
        body = request.json() or {}
        monitor = bool(body.get("monitor_heartbeat"))
        if (
            self.instance.store.update(
                e.KNOWN_ENDPOINTS, endpoint_id, lambda d: d.update(monitor_heartbeat=monitor, monitored=monitor)
            )
            is None
        ):
            return Response(404)
        return _accepted()

    def endpoint_delete(self, request: Request, endpoint_id: str) -> Response:
        return Response(204) if self.instance.store.delete(e.KNOWN_ENDPOINTS, endpoint_id) else Response(404)

    def heartbeat_stats(self, request: Request) -> Response:
        monitored = [v for v in self._endpoint_views() if v["monitored"]]
        active = sum(1 for v in monitored if (v.get("heartbeat_information") or {}).get("reported_status") == "beating")
        return Response(200, {"active": active, "failing": len(monitored) - active})

    def custom_checks(self, request: Request) -> Response:
        checks = self.instance.custom_checks()
        status = request.query("status")
        if status in ("fail", "pass"):
            checks = [check for check in checks if check["status"] == status]
        page, per_page = paging(request)
        return list_response(
            request, page_of(checks, page, per_page), len(checks), page, per_page, etag_data=etag_of(checks)
        )

    def custom_check_delete(self, request: Request, check_id: str) -> Response:
        self.instance.store.delete(e.CUSTOM_CHECKS, check_id)
        return _accepted()

    # ------------------------------------------------------------------ messages (scatter-gather over the remotes)

    def _local_messages(self, request: Request, endpoint: str | None, keyword: str | None) -> list[dict]:
        include_system = (request.query("include_system_messages") or "").lower() == "true"
        views = []
        for doc in self.instance.failed_messages():
            view = e.messages_view(doc)
            if not include_system and view["is_system_message"] and keyword is None:
                continue
            if endpoint and (view.get("receiving_endpoint") or {}).get("name") != endpoint:
                continue
            if not _matches_keyword(view, keyword):
                continue
            view["instance_id"] = self.instance_id
            views.append(view)
        return views

    def messages(self, request: Request, endpoint: str | None = None) -> Response:
        return self._scatter_gather(request, self._local_messages(request, endpoint, None))

    def messages_search(self, request: Request, keyword: str | None = None, endpoint: str | None = None) -> Response:
        keyword = keyword if keyword is not None else request.query("q")
        return self._scatter_gather(request, self._local_messages(request, endpoint, keyword or ""))

    def _scatter_gather(self, request: Request, local: list[dict]) -> Response:
        page, per_page = paging(request)
        sort, direction = sorting(request)
        key = _message_sort_key(sort)
        local_sorted = sorted(local, key=key, reverse=direction == "desc")
        results = [(self.instance_id, page_of(local_sorted, page, per_page), len(local))]
        path_and_query = request.path + (
            "?" + urllib.parse.urlencode(request.query_pairs) if request.query_pairs else ""
        )
        for remote in self.remotes:
            if remote["base"] in self.instance.unavailable_remotes:
                continue
            results.append(self._remote_messages(remote, path_and_query))
        combined: dict[str, dict] = {}
        for instance_id, views, _total in results:
            for view in views:
                view.setdefault("instance_id", instance_id)
                if view.get("body_url") and "instance_id" not in view["body_url"]:
                    view["body_url"] += "?instance_id=%s" % instance_id
                combined.setdefault(
                    "%s-%s" % ((view.get("receiving_endpoint") or {}).get("name"), view.get("message_id")), view
                )
        items = sorted(combined.values(), key=key, reverse=direction == "desc")[:per_page]
        total = sum(r[2] for r in results)
        highest = max(r[2] for r in results)
        response = Response(200, items, [("Total-Count", str(total))])
        for value in paging_links(request, page, per_page, total, highest):
            response.headers.append(("Link", value))
        response.headers.append(("ETag", '"%s"' % etag_of(items)))
        return response

    def _remote_messages(self, remote: dict, path_and_query: str) -> tuple[str, list[dict], int]:
        try:
            with urllib.request.urlopen(_absolute(remote["base"], path_and_query), timeout=REMOTE_TIMEOUT) as response:  # noqa: S310
                views = json.loads(response.read().decode("utf-8"))
                total = int(response.headers.get("Total-Count") or 0)
                return remote["instance_id"], views, total
        except urllib.error.HTTPError as exc:
            log.warning("Failed to query remote instance at %s: %s", remote["base"], exc)
        except (urllib.error.URLError, ConnectionError) as exc:
            # The remote is left out until the remotes check reaches it again.
            log.warning("Remote instance at %s will be temporarily disabled: %s", remote["base"], exc)
            self.instance.unavailable_remotes[remote["base"]] = (
                "The remote instance at '%s' doesn't seem to be available. It will be temporarily disabled. "
                "Reason: %s" % (remote["base"], exc)
            )
        except Exception as exc:
            log.warning("Failed to query remote instance at %s: %s", remote["base"], exc)
        return remote["instance_id"], [], 0

    def message_body(self, request: Request, message_id: str) -> Response:
        target = request.query("instance_id")
        if target and target != self.instance_id:
            remote = next((r for r in self.remotes if r["instance_id"] == target), None)
            if remote is None:
                return Response(400)
            return _forward(request, remote["base"])
        body = self.instance.store.get_body(message_id)
        doc = self.instance.failed_message(message_id)
        if body is None:
            return Response(404)
        content_type = e.last_attempt(doc)["message_metadata"].get("ContentType", "text/plain") if doc else "text/plain"
        return Response(200, raw=body, content_type=content_type)

    def check_remotes(self) -> None:
        """CheckRemotes custom check: ``GET /api`` must succeed; failures disable the remote for scatter-gather."""
        for remote in self.remotes:
            base = remote["base"]
            try:
                with urllib.request.urlopen(_absolute(base, "/api"), timeout=REMOTE_TIMEOUT):  # noqa: S310
                    self.instance.unavailable_remotes.pop(base, None)
            except Exception as exc:
                self.instance.unavailable_remotes[base] = (
                    "The remote instance at '%s' doesn't seem to be available. It will be temporarily disabled. "
                    "Reason: %s" % (base, exc)
                )


def _absolute(base: str, path_and_query: str) -> str:
    """HttpClient with BaseAddress and an absolute path: the path replaces the base address' path."""
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", "")) + path_and_query


def _forward(request: Request, base: str) -> Response:
    """Forward a request to a remote instance (YARP forwarder) and relay its answer."""
    query = urllib.parse.urlencode(request.query_pairs)
    outgoing = urllib.request.Request(  # noqa: S310 - configured remote
        _absolute(base, request.path + ("?" + query if query else "")),
        data=request.body or None,
        method=request.method,
        headers={"Content-Type": request.headers.get("content-type", "application/json")},
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=REMOTE_TIMEOUT) as response:  # noqa: S310
            return Response(response.status, raw=response.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, raw=exc.read())
    except Exception:
        return Response(502)


# ====================================================================== Audit instance


class AuditApi:
    def __init__(self, instance: AuditInstance) -> None:
        self.instance = instance
        self.settings = instance.settings
        self.router = Router()
        r = self.router.add
        r("GET", "/api", self.root)
        r("GET", "/api/configuration", self.configuration)
        r("GET", "/api/instance-info", self.configuration)
        r("GET", "/api/connection", self.connection)
        r("GET", "/api/endpoints/known", self.endpoints_known)
        r("GET", "/api/messages/search", self.messages)
        r("GET", "/api/messages/search/{keyword}", self.messages)
        r("GET", "/api/messages/{message_id}/body", self.body)
        r("GET", "/api/messages", self.messages)
        r("GET", "/api/endpoints/{endpoint}/messages/search/{keyword}", self.messages)
        r("GET", "/api/endpoints/{endpoint}/messages/search", self.messages)
        r("GET", "/api/endpoints/{endpoint}/messages", self.messages)
        r("GET", "/api/endpoints/{endpoint}/audit-count", self.audit_count)

    def root(self, request: Request) -> Response:
        return Response(
            200,
            _configuration_root(
                request,
                "ServiceControl.Audit",
                {
                    "message_search_url": "messages/search/{keyword}/{?page,per_page,direction,sort}",
                    "endpoints_message_search_url": SEARCH_URL,
                    "endpoints_messages_url": "endpoints/{name}/messages/{?page,per_page,direction,sort}",
                    "audit_count_url": "endpoints/{name}/audit-count",
                },
            ),
        )

    def configuration(self, request: Request) -> Response:
        s = self.settings
        return Response(
            200,
            {
                "host": {
                    "instance_name": s.instance_name,
                    "logging": c.compact(log_path=s.log_path, logging_level="Info"),
                },
                "data_retention": {"audit_retention_period": format_timespan(s.audit_retention_period)},
                "performance_tunning": {"max_body_size_to_store": s.max_body_size_to_store},
                "transport": c.compact(
                    transport_type=s.transport_type,
                    audit_log_queue=s.audit_log_queue,
                    audit_queue=s.audit_queue,
                    forward_audit_messages=s.forward_audit_messages,
                ),
                "persistence": {"persistence_type": "RavenDB"},
                "plugins": {},
            },
        )

    def connection(self, request: Request) -> Response:
        return Response(
            200,
            {
                "MessageAudit": {"Enabled": True, "AuditQueue": self.settings.audit_queue},
                "SagaAudit": {"Enabled": True, "SagaAuditQueue": self.settings.audit_queue},
            },
        )

    def endpoints_known(self, request: Request) -> Response:
        docs = self.instance.store.all("KnownEndpoints")
        views = [
            {
                "id": c.deterministic_guid(d["name"], d["host_id"]),
                "endpoint_details": d,
                "host_display_name": d.get("host"),
            }
            for d in docs
        ]
        return Response(200, views, [("Total-Count", str(len(views)))])

    def messages(self, request: Request, endpoint: str | None = None, keyword: str | None = None) -> Response:
        searching = keyword is not None or request.path.rstrip("/").endswith("/search")
        keyword = keyword if keyword is not None else request.query("q")
        include_system = (request.query("include_system_messages") or "").lower() == "true"
        views = []
        for doc in self.instance.processed_messages():
            view = audit_messages_view(doc)
            if not searching and not include_system and view["is_system_message"]:
                continue
            if endpoint and (view.get("receiving_endpoint") or {}).get("name") != endpoint:
                continue
            if searching and not _matches_keyword(view, keyword):
                continue
            views.append(view)
        page, per_page = paging(request)
        sort, direction = sorting(request)
        ordered = sorted(views, key=_message_sort_key(sort), reverse=direction == "desc")
        items = page_of(ordered, page, per_page)
        return list_response(request, items, len(views), page, per_page, etag_data=etag_of(items) + str(len(views)))

    def body(self, request: Request, message_id: str) -> Response:
        body = self.instance.store.get_body(message_id)
        if body is None:
            return Response(404)
        return Response(200, raw=body, content_type="application/octet-stream")

    def audit_count(self, request: Request, endpoint: str) -> Response:
        return Response(200, audit_counts(self.instance.processed_messages(), endpoint))


def remote_checker(api: ErrorApi, interval: float, stop) -> None:
    """Runs the remotes check at start and then every ``interval`` seconds (ServiceControl: 30 s)."""
    api.check_remotes()
    while not stop.wait(interval):
        api.check_remotes()


__all__ = ["AuditApi", "ErrorApi", "instance_id_for", "remote_checker"]
