"""Stand-ins for Particular's container images, built from the lab (see lab/README.md, "Container images").

``python -m lab.containers.build`` (``make images``) builds them with podman; ``containers.conf`` holds the
podman settings these machines need, and every podman call of the project names it through
``CONTAINERS_CONF``.
"""
