"""A real browser on another origin reads a lab instance's headers, as ServicePulse does (docs/reference §2.1).

A page served from one origin fetches ``/api/errors`` from the lab on another, once as a simple request and once
with a header that makes the browser send a preflight first, and reports what its script could read. Headless
Chromium is used when it is installed (``apt-get install -y chromium``); otherwise the test is skipped (or fails
when CI=true). The HTTP-level rules are held in lab/tests/test_cors.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab.tests.instance_support import Broker, base_environ, failed_message, running_instance, wait_until

PAGE = """<!doctype html><html><body><script>
async function read(init) {
  try {
    const response = await fetch("%(api)s/api/errors?per_page=1", init);
    return {status: response.status, total: response.headers.get("Total-Count"),
            version: response.headers.get("X-Particular-Version"), etag: response.headers.get("ETag")};
  } catch (error) { return {error: String(error)}; }
}
(async () => {
  const simple = await read({});
  const preflighted = await read({headers: {"X-Requested-With": "XMLHttpRequest"}});
  await fetch("/result", {method: "POST", body: JSON.stringify({simple, preflighted})});
})();
</script></body></html>"""


def _browser() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


class _PageServer:
    """Serves the page and receives its report (the page's own origin)."""

    def __init__(self, api: str) -> None:
        self.result: dict | None = None
        self.received = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                body = (PAGE % {"api": api}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.result = json.loads(self.rfile.read(length))
                self.send_response(204)
                self.end_headers()
                outer.received.set()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "http://localhost:%d/" % self.httpd.server_address[1]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_page_from_another_origin_reads_total_count_and_version(tmp_path):
    browser = _browser()
    if browser is None:
        reason = "no Chromium installed (apt-get install -y chromium); test_cors.py holds the headers"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    broker = Broker("LearningTransport", str(tmp_path / "lt"), uuid.uuid4().hex[:6])
    env = base_environ("error", broker, str(tmp_path / "db"), SERVICECONTROL_HOSTNAME="127.0.0.1")
    with running_instance("error", env, broker) as run, broker.open() as transport:
        for _ in range(3):
            transport.send(broker.name("error"), failed_message("Sales"))
        wait_until(lambda: run.get("/api/errors").headers["Total-Count"] == "3", what="ingestion")
        page = _PageServer("http://127.0.0.1:%d" % run.instance.server.port)
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--user-data-dir=%s" % (tmp_path / "profile"),
            page.url,
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        try:
            assert page.received.wait(60), "the page did not report back"
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
            page.close()
    for name in ("simple", "preflighted"):
        seen = page.result[name]
        assert seen.get("status") == 200, (name, seen)
        assert seen["total"] == "3", (name, seen)
        assert seen["version"] == "6.19.2", (name, seen)
        assert seen["etag"], (name, seen)
