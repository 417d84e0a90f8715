#!/bin/bash
# Stand-in for the start script of particular/servicecontrol-ravendb: refuse a data volume mounted where
# ServiceControl 5's database container kept it, then run the lab's RavenDB stand-in (lab/ravendb.py), which
# reads RAVEN_ServerUrl and RAVEN_DataDir.
OLD_DATA_DIR=/opt/RavenDB/Server/RavenData
if [[ -d "$OLD_DATA_DIR" ]]; then
  echo "ERROR: a database volume is mounted at $OLD_DATA_DIR, the ServiceControl 5 location." \
    "Mount it at $RAVEN_DataDir (owner and group ID 999) as described in the upgrade guide from" \
    "ServiceControl 5 to 6." >&2
  exit 1
fi
exec /usr/bin/python3 -m lab ravendb
