# Offline stand-in for ansible-test's get-pip-24.2.py, which it downloads from a host this
# machine cannot reach. `make tree` copies it to ~/.ansible/test/cache/get_pip_24_2.py, where
# ansible-test looks before downloading. ansible-test runs it as:
#   python get_pip_24_2.py --disable-pip-version-check pip==24.2 [--no-setuptools] [--no-wheel]
# The name tracks the pip version pinned by ansible-core (2.19: pip 24.2, 2.21: pip 25.2); the script itself
# installs whatever pip version it is asked for, so `make tree` copies it under the name each leg needs (GET_PIP).
"""Install pip into the running interpreter without network access to the get-pip host."""

import ensurepip
import importlib
import os
import runpy
import sys


def main():
    saved_environment = dict(os.environ)
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    ensurepip.bootstrap()
    # ensurepip sets PIP_CONFIG_FILE=/dev/null for this process; restore the environment so the
    # machine's pip configuration (CA certificate, index) applies to the pinned install below.
    os.environ.clear()
    os.environ.update(saved_environment)
    importlib.invalidate_caches()
    sys.argv = ["pip", "install", "-q", *args]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
