"""Command line of the lab.

    python -m lab instance --kind error|audit|monitoring [--config PATH] [--setup | --setup-and-run]
                          [--import-failed-errors | --import-failed-audits]
    python -m lab endpoint ...            (the endpoint simulator, lab/endpoint.py)
    python -m lab ravendb [--url URL] [--data-dir DIR]   (the RavenDB stand-in, lab/ravendb.py)

``instance`` behaves like ``ServiceControl.exe`` / ``ServiceControl.Audit.exe``: settings come from the
environment and the ``--config`` file (see lab/settings.py); ``--setup`` creates the queues and exits,
``--setup-and-run`` creates them and then runs. Exit codes: 0 after a normal stop (also when the
instance stopped itself because ingestion could not start, as ServiceControl does), 1 when the
settings make the instance refuse to start, 2 for command-line errors.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading

from lab.settings import SettingsError, load_settings


def _instance_parser(subparsers) -> None:
    parser = subparsers.add_parser("instance", help="run a lab ServiceControl Error or Audit instance")
    parser.add_argument("--kind", choices=("error", "audit", "monitoring"), required=True, help="instance type")
    parser.add_argument("--config", help="path to ServiceControl.exe.config / ServiceControl.Audit.exe.config")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--setup", action="store_true", help="create the instance's queues, then exit")
    mode.add_argument("--setup-and-run", action="store_true", help="create the instance's queues, then run")
    mode.add_argument("--import-failed-errors", action="store_true", help="error: re-import failed imports, then exit")
    mode.add_argument("--import-failed-audits", action="store_true", help="audit: re-import failed imports, then exit")
    parser.add_argument(
        "--skip-queue-creation", action="store_true", help="with --setup/--setup-and-run: leave the queues alone"
    )
    parser.add_argument("--log-level", default="INFO", help="Python logging level (default INFO)")


def run_instance(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # pika logs every connection step at INFO; ServiceControl's log shows none of that.
    logging.getLogger("pika").setLevel(logging.WARNING)
    from lab.instance import LabInstance  # noqa: PLC0415 - keeps `python -m lab endpoint` light

    try:
        settings = load_settings(args.kind, args.config)
        instance = LabInstance(settings)
    except (SettingsError, ValueError) as exc:
        print("Unrecoverable error: %s" % exc, file=sys.stderr)
        return 1
    log = logging.getLogger("lab")
    if args.kind == "error":
        log.info("Ingest Error Messages: %s", settings.ingest_error_messages)
    elif args.kind == "audit":
        log.info("Ingest Audit Messages: %s", settings.ingest_audit_messages)
    if args.import_failed_errors or args.import_failed_audits:
        return run_reimport(args, instance)

    if args.setup or args.setup_and_run:
        try:
            queues = instance.setup(create_queues=not args.skip_queue_creation)
        except Exception as exc:
            print("Setup failed: %s" % exc, file=sys.stderr)
            return 1
        for queue in queues:
            print("Created queue %s" % queue)
        if args.setup:
            return 0

    stop = threading.Event()

    def request_stop(*_args) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        instance.start()
    except Exception as exc:  # Program.cs: any start-up failure is logged as "Unrecoverable error"
        print("Unrecoverable error: %s" % exc, file=sys.stderr)
        instance.stop()
        return 1
    print("Listening on %s" % instance.url, flush=True)
    while not stop.is_set() and not instance.stopped.is_set():
        stop.wait(0.2)
    instance.stop()
    if instance.fatal_reason:
        print("Instance stopped: %s" % instance.fatal_reason, file=sys.stderr)
    return 0


def run_reimport(args: argparse.Namespace, instance) -> int:
    """ImportFailedErrorsCommand / ImportFailedAuditsCommand (lab/instance/reimport.py)."""
    wanted = "error" if args.import_failed_errors else "audit"
    if args.kind != wanted:
        print("--import-failed-%ss is an option of the %s instance." % (wanted, wanted), file=sys.stderr)
        return 2
    from lab.instance.reimport import reimport  # noqa: PLC0415

    try:
        reimport(instance.settings, instance.transport_factory)
    except Exception as exc:
        print("Unrecoverable error: %s" % exc, file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "ravendb":
        from lab.ravendb import main as ravendb_main  # noqa: PLC0415 - keeps the instance start light

        return int(ravendb_main(argv[1:]) or 0)
    if argv and argv[0] == "endpoint":
        try:
            endpoint = importlib.import_module("lab.endpoint")
        except ModuleNotFoundError:
            print("The endpoint simulator (lab/endpoint.py) is not available.", file=sys.stderr)
            return 2
        return int(endpoint.main(argv[1:]) or 0)
    parser = argparse.ArgumentParser(prog="python -m lab", description="ServiceControl lab")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _instance_parser(subparsers)
    subparsers.add_parser("endpoint", help="the endpoint simulator (see python -m lab endpoint --help)")
    subparsers.add_parser("ravendb", help="the RavenDB stand-in (see python -m lab ravendb --help)")
    args = parser.parse_args(argv)
    return run_instance(args)


if __name__ == "__main__":
    sys.exit(main())
