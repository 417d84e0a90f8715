#!/usr/bin/python3
"""/healthcheck/healthcheck in the lab's images: a stand-in for Particular's HealthCheckApp.

    healthcheck URL            GET URL; healthy (exit 0, prints OK) when the answer is a success status with a
                               non-empty application/json body, as HealthCheckApp requires
    healthcheck --alive URL    healthy on any success status (the RavenDB image's /setup/alive check)

Lab-only: when ``LAB_CONTAINER_PORT`` is set, a localhost URL is asked on that port instead, so the image's
fixed health check follows an instance moved off its in-container port (lab/settings.py). A ``0.0.0.0``
host (RavenDB's ``RAVEN_ServerUrl`` default) is asked on 127.0.0.1.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.parse
import urllib.request

TIMEOUT = 30


def target(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or "localhost"
    if host in ("0.0.0.0", "*", "+"):  # noqa: S104 - a bind address, asked on loopback
        host = "127.0.0.1"
    port = parts.port
    moved = os.environ.get("LAB_CONTAINER_PORT")
    if moved and host in ("localhost", "127.0.0.1"):
        port = int(moved)
    netloc = host if port is None else "%s:%s" % (host, port)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def main(argv: list[str]) -> int:
    alive = bool(argv) and argv[0] == "--alive"
    args = argv[1:] if alive else argv
    if not args or not args[0]:
        print("Missing URL", file=sys.stderr)
        return 1
    url = target(args[0])
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - the container's own URL
            body = response.read()
            media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    except (urllib.error.URLError, OSError) as exc:
        print("%s: %s" % (url, exc), file=sys.stderr)
        return 1
    if not alive and (media_type != "application/json" or not body):
        print("Invalid ContentType or Length", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
