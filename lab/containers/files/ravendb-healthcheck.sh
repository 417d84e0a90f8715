#!/bin/bash
# Stand-in for the RavenDB image's health check: the server answers /setup/alive.
exec /usr/bin/python3 /healthcheck/healthcheck --alive "${RAVEN_ServerUrl:-http://0.0.0.0:8080}/setup/alive"
