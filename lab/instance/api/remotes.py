"""The Error instance's remote instances (``RemoteInstances``, usually its Audit instances).

ServiceControl: Infrastructure/Settings (RemoteInstanceSetting, InstanceIdGenerator), RootController's
``configuration/remotes``, the remote half of CompositeViews/Messages/ScatterGatherApi, the forwarder that
sends a request with another instance's ``instance_id`` there, and Operations/CheckRemotes (the
"ServiceControl Remotes" custom check, which re-enables a remote that a failed call left out).
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from lab.instance import common as c
from lab.instance.http import Request, Response
from lab.settings import ErrorSettings

log = logging.getLogger("lab.instance.api")
REMOTE_TIMEOUT = 10.0


def instance_id_for(api_url: str) -> str:
    """InstanceIdGenerator.FromApiUrl: URL-safe base64 of the lower-cased URL ('=' becomes '.')."""
    encoded = base64.b64encode(api_url.lower().encode("utf-8")).decode("ascii")
    return encoded.replace("+", "-").replace("/", "_").replace("=", ".")


def absolute(base: str, path_and_query: str) -> str:
    """HttpClient with BaseAddress and an absolute path: the path replaces the base address' path."""
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "", "", "")) + path_and_query


def forward(request: Request, base: str) -> Response:
    """Forward a request to a remote instance (YARP forwarder) and relay its answer."""
    query = urllib.parse.urlencode(request.query_pairs)
    outgoing = urllib.request.Request(  # noqa: S310 - configured remote
        absolute(base, request.path + ("?" + query if query else "")),
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


class RemoteInstances:
    """The configured remotes, this instance's id, and ``unavailable`` (the instance's map of remote base
    address -> why it is left out of scatter-gather; the custom check reports it)."""

    def __init__(self, settings: ErrorSettings, unavailable: dict[str, str]) -> None:
        self.instance_id = instance_id_for(settings.api_url)
        self.remotes = [
            {"base": r.base_address, "api_uri": r.api_uri, "instance_id": instance_id_for(r.base_address)}
            for r in settings.remote_instances
        ]
        self.unavailable = unavailable

    def forward_if_remote(self, request: Request) -> Response | None:
        """A request whose ``instance_id`` names another instance goes there (400 for an unknown one);
        None when it is for this instance."""
        target = request.query("instance_id")
        if not target or target == self.instance_id:
            return None
        remote = next((r for r in self.remotes if r["instance_id"] == target), None)
        if remote is None:
            return Response(400)
        return forward(request, remote["base"])

    def configurations(self) -> list[dict]:
        """GET /api/configuration/remotes: every remote's status, version and configuration, asked in parallel."""

        def fetch(remote: dict) -> dict:
            status, version, config = "online", "Unknown", None
            url = absolute(remote["base"], "/api/configuration")
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
            return list(pool.map(fetch, self.remotes))

    def query_messages(self, path_and_query: str) -> list[tuple[str, list[dict], int]]:
        """The same messages query on every available remote: (instance id, views, Total-Count) each."""
        return [(i, data or [], total) for i, data, total in self.query(path_and_query)]

    def query(self, path_and_query: str) -> list[tuple[str, object, int]]:
        """ScatterGatherApi's remote calls: (instance id, parsed body or None, Total-Count) for every available
        remote. A 404, a body that is not JSON (a 204) or any failure counts as an empty result."""
        return [self._query(r, path_and_query) for r in self.remotes if r["base"] not in self.unavailable]

    def _query(self, remote: dict, path_and_query: str) -> tuple[str, object, int]:
        try:
            with urllib.request.urlopen(absolute(remote["base"], path_and_query), timeout=REMOTE_TIMEOUT) as response:  # noqa: S310
                data = json.loads(response.read().decode("utf-8"))
                total = int(response.headers.get("Total-Count") or 0)
                return remote["instance_id"], data, total
        except urllib.error.HTTPError as exc:
            log.warning("Failed to query remote instance at %s: %s", remote["base"], exc)
        except (urllib.error.URLError, ConnectionError) as exc:
            # The remote is left out until the remotes check reaches it again.
            log.warning("Remote instance at %s will be temporarily disabled: %s", remote["base"], exc)
            self._disable(remote["base"], exc)
        except Exception as exc:
            log.warning("Failed to query remote instance at %s: %s", remote["base"], exc)
        return remote["instance_id"], None, 0

    def check(self) -> None:
        """CheckRemotes custom check: ``GET /api`` must succeed; failures disable the remote for scatter-gather."""
        for remote in self.remotes:
            base = remote["base"]
            try:
                with urllib.request.urlopen(absolute(base, "/api"), timeout=REMOTE_TIMEOUT):  # noqa: S310
                    self.unavailable.pop(base, None)
            except Exception as exc:
                self._disable(base, exc)

    def _disable(self, base: str, exc: Exception) -> None:
        self.unavailable[base] = (
            "The remote instance at '%s' doesn't seem to be available. It will be temporarily disabled. "
            "Reason: %s" % (base, exc)
        )


def remote_checker(api, interval: float, stop) -> None:
    """Runs the remotes check at start and then every ``interval`` seconds (ServiceControl: 30 s)."""
    api.check_remotes()
    while not stop.wait(interval):
        api.check_remotes()
