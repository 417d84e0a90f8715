# -*- coding: utf-8 -*-
# Copyright: (c) 2026, servicecontrol.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
#
# PRIVATE module_utils: this is not a public API. It may change at any time, and other
# collections must not import it.
"""RabbitMQ transport (the four ServiceControl RabbitMQ TransportTypes) over the management HTTP API.

Queues are declared the way the NServiceBus RabbitMQ transport declares ServiceControl's sending
addresses: durable, not exclusive, not auto-delete; quorum queues carry ``x-queue-type: quorum`` and
classic queues carry no arguments at all. The conventional routing topology adds an exchange with the
queue's name (durable fanout) and binds the queue to it with the routing key "". The direct topology
has the queue only.

A message is published through the management API to the default exchange with the queue's name as routing key
(which reaches the queue in both topologies), with the AMQP properties NServiceBus's transport sets
(docs/reference/transports.md §1.3).

Everything goes through one httpx client per module call (one connection, kept alive).
"""

from __future__ import annotations

import base64
import json
import traceback
from urllib.parse import quote

from ansible_collections.servicecontrol.platform.plugins.module_utils._results import (
    absent_state,
    operation_result,
    queue_state,
    send_result,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._tls import TlsConfigurationError, TlsSettings
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport import (
    InvalidQueueNameError,
    Transport,
    TransportConfigurationError,
    TransportDependencyError,
    TransportError,
)
from ansible_collections.servicecontrol.platform.plugins.module_utils._transport_rabbitmq_connection import (
    RabbitMQConnection,
)

try:
    import httpx

    HAS_HTTPX = True
    HTTPX_IMPORT_ERROR = None
except ImportError:
    HAS_HTTPX = False
    HTTPX_IMPORT_ERROR = traceback.format_exc()

#: AMQP short strings (queue and exchange names) are limited to 255 bytes.
MAX_NAME_BYTES = 255
#: Names starting with this are reserved by the broker (declaring one is refused).
RESERVED_PREFIX = "amq."
#: delivery-limit of the policy the NServiceBus transport (10.1.5+) creates: a big value instead of unlimited.
NSB_DELIVERY_LIMIT = 100000

#: The management API's name for the default exchange "".
DEFAULT_EXCHANGE = "amq.default"
#: A header NServiceBus removes from the message and answers with non-persistent delivery.
NON_PERSISTENT_HEADER = "NServiceBus.Transport.RabbitMQ.UseNonPersistentDelivery"
DEFAULT_CONTENT_TYPE = "application/octet-stream"

# .NET Regex.Escape escapes exactly these characters (and writes \t \n \f \r for the control ones).
_DOTNET_REGEX_META = "\\*+?|{[()^$.# \t\n\f\r"
_DOTNET_CONTROL_ESCAPES = {"\t": "t", "\n": "n", "\f": "f", "\r": "r"}


def dotnet_regex_escape(text):
    """Escape like .NET's Regex.Escape (unlike Python's re.escape it leaves '-', ']' and '}' alone)."""
    return "".join(
        "\\" + _DOTNET_CONTROL_ESCAPES.get(char, char) if char in _DOTNET_REGEX_META else char for char in text
    )


def message_properties(message):
    """The AMQP properties NServiceBus gives a message (BasicPropertiesExtensions.Fill, RMQ@11.2.1).

    ``message_id`` is the NServiceBus id; every header goes into the headers table as a string;
    ``delivery_mode`` 2 (persistent) unless the non-persistent header is present, which is removed; ``type`` is
    ``NServiceBus.EnclosedMessageTypes`` up to its first comma; ``content_type`` ``NServiceBus.ContentType`` or
    ``application/octet-stream``; ``correlation_id`` and ``reply_to`` from their headers.
    """
    headers = dict(message.headers)
    persistent = headers.pop(NON_PERSISTENT_HEADER, None) is None
    properties = {"message_id": message.message_id, "delivery_mode": 2 if persistent else 1, "headers": headers}
    if headers.get("NServiceBus.CorrelationId") is not None:
        properties["correlation_id"] = headers["NServiceBus.CorrelationId"]
    if headers.get("NServiceBus.EnclosedMessageTypes") is not None:
        properties["type"] = headers["NServiceBus.EnclosedMessageTypes"].split(",", 1)[0]
    properties["content_type"] = headers.get("NServiceBus.ContentType") or DEFAULT_CONTENT_TYPE
    if headers.get("NServiceBus.ReplyToAddress") is not None:
        properties["reply_to"] = headers["NServiceBus.ReplyToAddress"]
    return properties


def publish_body(queue, message):
    """The management API's publish request: to the default exchange, routed by the queue name, body as base64."""
    return {
        "properties": message_properties(message),
        "routing_key": queue,
        "payload": base64.b64encode(message.body).decode("ascii"),
        "payload_encoding": "base64",
    }


class RabbitMQTransport(Transport):
    """ServiceControl's RabbitMQ TransportTypes: classic or quorum queues, conventional or direct routing."""

    supported_options = frozenset(("rabbitmq_delivery_limit_policy",))

    def __init__(self, transport_type, connection_string, variant=None, options=None):
        super().__init__(transport_type, connection_string, variant=variant, options=options)
        self.queue_type = self.variant.get("queue_type", "quorum")
        self.routing_topology = self.variant.get("routing_topology", "conventional")
        self.connection = RabbitMQConnection.parse(connection_string, transport_type)
        self.delivery_limit_policy = bool(self.options.get("rabbitmq_delivery_limit_policy"))
        self.redactor.add(self.connection.password, self.connection.management_password)
        #: httpx transport to use instead of the network (tests pass an httpx.MockTransport).
        self.http_transport = None
        self._broker_version = None
        self._vhost = None

    @property
    def conventional(self):
        return self.routing_topology == "conventional"

    # -- naming -----------------------------------------------------------------------------------
    def physical_name(self, name):
        if name is None or name == "":
            raise InvalidQueueNameError("An empty queue name is not valid on RabbitMQ.")
        if len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise InvalidQueueNameError(
                "Queue name '%s' is %d bytes long in UTF-8; RabbitMQ allows at most %d. Use a shorter name."
                % (name, len(name.encode("utf-8")), MAX_NAME_BYTES)
            )
        if name.startswith(RESERVED_PREFIX):
            raise InvalidQueueNameError(
                "Queue name '%s' starts with '%s', which RabbitMQ reserves for its own queues and exchanges. "
                "Use another name." % (name, RESERVED_PREFIX)
            )
        return name

    def policy_name(self, name):
        return "nsb.%s.delivery-limit" % name

    def desired_policy(self, name):
        return {
            "pattern": "^%s$" % dotnet_regex_escape(name),
            "apply-to": "quorum_queues",
            "priority": 0,
            "definition": {"delivery-limit": NSB_DELIVERY_LIMIT},
        }

    # -- the one HTTP client ------------------------------------------------------------------------
    def open(self):
        if not HAS_HTTPX:
            raise TransportDependencyError("httpx", HTTPX_IMPORT_ERROR, self.transport_type)
        tls = self.tls
        if self.connection.disable_certificate_validation:
            # DisableRemoteCertificateValidation=true in ServiceControl's connection string says the same.
            tls = TlsSettings(False, tls.ca_path, tls.client_cert, tls.client_key)
        try:
            verify = tls.ssl_context()
        except TlsConfigurationError as exc:
            raise TransportConfigurationError("Transport %s: %s." % (self.transport_type, exc)) from None
        self.client = httpx.Client(
            base_url=self.connection.management_url,
            auth=httpx.BasicAuth(self.connection.management_username, self.connection.management_password),
            timeout=httpx.Timeout(self.timeout),
            verify=verify,
            headers={"content-type": "application/json"},
            transport=self.http_transport,
        )
        try:
            self._vhost = self._request("GET", self._vhost_path(), missing_ok=True)
        except TransportError:
            self.close()
            raise
        if self._vhost is None:
            self.close()
            raise TransportConfigurationError(
                "The RabbitMQ virtual host '%s' does not exist on %s. Create it (rabbitmqctl add_vhost) or fix "
                "virtualHost in the connection string." % (self.connection.virtual_host, self._where())
            )

    def _where(self):
        return "the RabbitMQ management API at %s" % self.connection.management_url.rstrip("/")

    def _vhost_path(self):
        return "api/vhosts/%s" % quote(self.connection.virtual_host, safe="")

    def _path(self, kind, *names):
        return "api/%s/%s/%s" % (
            kind,
            quote(self.connection.virtual_host, safe=""),
            "/".join(quote(name, safe="") for name in names),
        )

    def _request(self, method, path, body=None, missing_ok=False):
        """One management API call. Returns the decoded JSON (None for 404 when missing_ok, or no body)."""
        if self.client is None:
            raise TransportError("The RabbitMQ transport was used before it was opened (use it as a context manager).")
        try:
            response = self.client.request(method, path, content=None if body is None else json.dumps(body))
        except httpx.TimeoutException:
            raise TransportError(
                "%s did not answer within %s seconds (%s /%s). Check that the broker is running, or raise timeout."
                % (self._where().capitalize(), self.timeout, method, path)
            ) from None
        except httpx.HTTPError as exc:
            raise TransportError(
                "Cannot reach %s (%s: %s). Check that the rabbitmq_management plugin is enabled and the URL "
                "(ManagementApiUrl, or host with port 15672/15671) is right."
                % (self._where(), type(exc).__name__, self.redactor(str(exc)))
            ) from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code == 401:
            raise TransportError(
                "%s rejected the credentials of user '%s'. Check username/password (or ManagementApiUserName/"
                "ManagementApiPassword) in the connection string."
                % (self._where().capitalize(), self.connection.management_username)
            )
        if response.status_code >= 400:
            raise TransportError(
                "%s answered %d to %s /%s: %s"
                % (self._where().capitalize(), response.status_code, method, path, self._reason(response))
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _reason(self, response):
        try:
            payload = response.json()
            reason = payload.get("reason") or payload.get("error") or ""
        except (ValueError, AttributeError):
            reason = response.text[:200]
        if response.status_code == 403:
            reason = (
                "%s. User '%s' needs the 'management' tag and configure/write/read permissions on the virtual "
                "host ('policymaker' for delivery-limit policies)." % (reason or "Forbidden", self.connection.username)
            )
        return self.redactor(str(reason))

    @staticmethod
    def _command(method, path, body=None):
        return "%s /%s%s" % (method, path, "" if body is None else " " + json.dumps(body, sort_keys=True))

    # -- reading ------------------------------------------------------------------------------------
    def broker_version(self):
        if self._broker_version is None:
            overview = self._request("GET", "api/overview") or {}
            self._broker_version = str(overview.get("rabbitmq_version") or "0")
        return self._broker_version

    def broker_major_version(self):
        head = self.broker_version().split(".", 1)[0]
        return int(head) if head.isdigit() else 0

    def _read(self, name):
        """Raw management API state of the queue and (conventional) its exchange and binding."""
        queue = self._request("GET", self._path("queues", name), missing_ok=True)
        exchange = binding = None
        if self.conventional:
            exchange = self._request("GET", self._path("exchanges", name), missing_ok=True)
            if queue is not None and exchange is not None:
                bindings = self._request("GET", self._path("bindings", "e", name, "q", name)) or []
                binding = any(item.get("routing_key") == "" for item in bindings)
            else:
                binding = False
        return queue, exchange, binding

    def _state(self, name, queue, exchange, binding):
        if queue is None:
            # An exchange left behind without its queue is shown, so that state=absent can remove it.
            leftover = {"exchange": self._exchange_view(exchange)} if exchange is not None else {}
            return absent_state(name, name, leftover)
        depth = queue.get("messages")
        properties = {
            "vhost": queue.get("vhost", self.connection.virtual_host),
            "queue_type": queue.get("type", "classic"),
            "durable": queue.get("durable"),
            "auto_delete": queue.get("auto_delete"),
            "exclusive": bool(queue.get("exclusive", False)),
            "arguments": queue.get("arguments") or {},
            "routing_topology": self.routing_topology,
            "policy": queue.get("policy") or None,
        }
        if "delivery_limit" in queue:
            properties["delivery_limit"] = queue.get("delivery_limit")
        if self.conventional:
            properties["exchange"] = self._exchange_view(exchange)
            properties["binding"] = bool(binding)
        return queue_state(
            name, name, exists=True, depth=depth if isinstance(depth, int) else None, properties=properties
        )

    @staticmethod
    def _exchange_view(exchange):
        if exchange is None:
            return None
        return {
            "type": exchange.get("type"),
            "durable": exchange.get("durable"),
            "auto_delete": exchange.get("auto_delete"),
        }

    def describe(self, name):
        queue, exchange, binding = self._read(name)
        return self._state(name, queue, exchange, binding)

    def depth(self, name):
        return self.describe(name)["depth"]

    # -- desired shape --------------------------------------------------------------------------------
    def queue_body(self):
        arguments = {"x-queue-type": "quorum"} if self.queue_type == "quorum" else {}
        return {"durable": True, "auto_delete": False, "arguments": arguments}

    @staticmethod
    def exchange_body():
        return {"type": "fanout", "durable": True, "auto_delete": False, "internal": False, "arguments": {}}

    @staticmethod
    def binding_body():
        return {"routing_key": "", "arguments": {}}

    def _predicted(self, before, exchange):
        """The state ensure() leads to, computed without another read (identical in check mode and for real)."""
        if before["exists"]:
            properties = dict(before["properties"])
        else:
            properties = {
                "vhost": self.connection.virtual_host,
                "queue_type": self.queue_type,
                "durable": True,
                "auto_delete": False,
                "exclusive": False,
                "arguments": dict(self.queue_body()["arguments"]),
                "routing_topology": self.routing_topology,
                "policy": None,
            }
        if self.conventional:
            properties["exchange"] = self._exchange_view(exchange) or {
                "type": "fanout",
                "durable": True,
                "auto_delete": False,
            }
            properties["binding"] = True
        return dict(before, exists=True, depth=before["depth"] if before["exists"] else 0, properties=properties)

    # -- checks ----------------------------------------------------------------------------------------
    def _fail_immutable(self, name, what, prop, *, current, wanted, advice):
        raise TransportError(
            "%s '%s' on RabbitMQ virtual host '%s' does not match what %s needs: %s is %s, wanted %s. "
            "RabbitMQ cannot change this on an existing %s; %s"
            % (
                what.capitalize(),
                name,
                self.connection.virtual_host,
                self.transport_type,
                prop,
                json.dumps(current),
                json.dumps(wanted),
                what,
                advice,
            )
        )

    def _check_queue(self, name, queue):
        recreate = (
            "move its messages elsewhere, delete it and run again, or choose the RabbitMQ TransportType that "
            "matches the existing queues."
        )
        current_type = queue.get("type", "classic")
        if current_type != self.queue_type:
            if self.queue_type == "quorum" and self.conventional:
                advice = (
                    "migrate it with `rabbitmq-transport queue migrate-to-quorum %s` (NServiceBus.Transport.RabbitMQ."
                    "CommandLine), or use the RabbitMQ.ClassicConventionalRouting transport." % name
                )
            else:
                advice = recreate
            self._fail_immutable(
                name, "queue", "queue_type", current=current_type, wanted=self.queue_type, advice=advice
            )
        for prop, wanted in (("durable", True), ("auto_delete", False), ("exclusive", False)):
            current = bool(queue.get(prop, wanted))
            if current != wanted:
                self._fail_immutable(name, "queue", prop, current=current, wanted=wanted, advice=recreate)
        current_args = {k: v for k, v in (queue.get("arguments") or {}).items() if k != "x-queue-type"}
        if current_args:
            wanted_args = dict(self.queue_body()["arguments"])
            shown = dict(current_args)
            if "x-queue-type" in (queue.get("arguments") or {}):
                shown["x-queue-type"] = queue["arguments"]["x-queue-type"]
            self._fail_immutable(
                name,
                "queue",
                "arguments",
                current=shown,
                wanted=wanted_args,
                advice="NServiceBus declares it with only %s, so endpoints and ServiceControl would fail to start; %s"
                % (json.dumps(wanted_args) if wanted_args else "no arguments", recreate),
            )

    def _check_exchange(self, name, exchange):
        advice = "delete the exchange (it holds no messages) and run again."
        if exchange.get("type") != "fanout":
            self._fail_immutable(name, "exchange", "type", current=exchange.get("type"), wanted="fanout", advice=advice)
        if not exchange.get("durable", True):
            self._fail_immutable(name, "exchange", "durable", current=False, wanted=True, advice=advice)

    def _check_classic_default(self, name):
        default = (self._vhost or {}).get("default_queue_type") or "undefined"
        if self.queue_type == "classic" and default not in ("undefined", "classic"):
            raise TransportError(
                "Queue '%s' cannot be created as a classic queue on RabbitMQ virtual host '%s': the virtual host's "
                "default queue type is '%s' and NServiceBus declares classic queues without x-queue-type, so the "
                "broker would create a %s queue. Use a RabbitMQ.Quorum* transport, or set the virtual host's "
                "default queue type to classic." % (name, self.connection.virtual_host, default, default)
            )

    # -- delivery-limit policy (RabbitMQ 4.x, opt-in) -----------------------------------------------
    def _policy_steps(self, name, queue):
        """Return (commands, notes, policy_name_or_None) for the delivery-limit policy of one quorum queue."""
        if not self.delivery_limit_policy:
            return [], [], None
        if self.queue_type != "quorum":
            return [], ["Delivery-limit policies apply to quorum queues only; nothing to do for a classic queue."], None
        if self.broker_major_version() < 4:
            return (
                [],
                [
                    "RabbitMQ %s has no default delivery limit on quorum queues; no delivery-limit policy is needed."
                    % self.broker_version()
                ],
                None,
            )
        policy_name = self.policy_name(name)
        desired = self.desired_policy(name)
        if queue is not None:
            self._check_delivery_limit_conflicts(name, queue, policy_name)
        current = self._request("GET", self._path("policies", policy_name), missing_ok=True)
        if current is not None and all(current.get(key) == value for key, value in desired.items()):
            return [], [], policy_name
        return [("PUT", self._path("policies", policy_name), desired)], [], policy_name

    def _check_delivery_limit_conflicts(self, name, queue, policy_name):
        applied = queue.get("policy") or None
        if queue.get("delivery_limit") == NSB_DELIVERY_LIMIT:
            return
        explicit = (queue.get("arguments") or {}).get("x-delivery-limit")
        if (
            applied
            and applied != policy_name
            and not (applied.startswith("nsb.") and applied.endswith(".delivery-limit"))
        ):
            raise TransportError(
                "Queue '%s' already has the policy '%s' applied, so the delivery-limit policy '%s' would not take "
                "effect (RabbitMQ applies one policy per queue). Add \"delivery-limit\": %d to that policy's "
                "definition and leave rabbitmq_delivery_limit_policy unset, or remove the policy."
                % (name, applied, policy_name, NSB_DELIVERY_LIMIT)
            )
        if explicit is not None:
            raise TransportError(
                "Queue '%s' has the argument x-delivery-limit=%s; the NServiceBus transport refuses non-default "
                "delivery limits. Recreate the queue without it." % (name, json.dumps(explicit))
            )

    # -- acting ----------------------------------------------------------------------------------------
    def _apply(self, steps, check_mode):
        commands = []
        for method, path, body in steps:
            commands.append(self._command(method, path, body))
            if not check_mode:
                self._request(method, path, body)
        return commands

    def ensure(self, name, check_mode=False):
        self.physical_name(name)
        queue, exchange, binding = self._read(name)
        before = self._state(name, queue, exchange, binding)
        steps = []
        if queue is not None:
            self._check_queue(name, queue)
        else:
            self._check_classic_default(name)
        if self.conventional and exchange is not None:
            self._check_exchange(name, exchange)
        if queue is None:
            steps.append(("PUT", self._path("queues", name), self.queue_body()))
        if self.conventional:
            if exchange is None:
                steps.append(("PUT", self._path("exchanges", name), self.exchange_body()))
            if not binding:
                steps.append(("POST", self._path("bindings", "e", name, "q", name), self.binding_body()))
        policy_steps, notes, policy_name = self._policy_steps(name, queue)
        steps.extend(policy_steps)
        after = self._predicted(before, exchange)
        if policy_name:
            after["properties"]["policy"] = policy_name
        commands = self._apply(steps, check_mode)
        if queue is None:
            action = "created"
        elif steps:
            action = "updated"
        else:
            action = "existed"
        return operation_result(action, before, after if steps else before, commands, notes)

    def delete(self, name, check_mode=False):
        self.physical_name(name)
        queue, exchange, binding = self._read(name)
        before = self._state(name, queue, exchange, binding)
        steps = []
        if queue is not None:
            steps.append(("DELETE", self._path("queues", name), None))
        if self.conventional and exchange is not None and exchange.get("type") == "fanout":
            steps.append(("DELETE", self._path("exchanges", name), None))
        notes = []
        if self.delivery_limit_policy and self.queue_type == "quorum" and self.broker_major_version() >= 4:
            policy_name = self.policy_name(name)
            if self._request("GET", self._path("policies", policy_name), missing_ok=True) is not None:
                steps.append(("DELETE", self._path("policies", policy_name), None))
        commands = self._apply(steps, check_mode)
        if not steps:
            return operation_result("absent", before, before, commands, notes)
        return operation_result("deleted", before, absent_state(name, name), commands, notes)

    def send(self, name, message, check_mode=False):
        self.physical_name(name)
        if self._request("GET", self._path("queues", name), missing_ok=True) is None:
            raise self.missing_queue_error(name, name)
        path = self._path("exchanges", DEFAULT_EXCHANGE, "publish")
        body = publish_body(name, message)
        command = "POST /%s routing_key=%s message_id=%s delivery_mode=%d (%d headers, %d bytes)" % (
            path,
            name,
            message.message_id,
            body["properties"]["delivery_mode"],
            len(body["properties"]["headers"]),
            len(message.body),
        )
        if not check_mode:
            answer = self._request("POST", path, body) or {}
            if not answer.get("routed"):
                raise TransportError(
                    "RabbitMQ accepted the message for queue '%s' on virtual host '%s' but routed it nowhere, so it "
                    "was dropped. Check that the queue still exists and run again."
                    % (name, self.connection.virtual_host)
                )
        # The native id is the AMQP message_id property, which NServiceBus sets to the message id.
        return send_result(name, name, message, native_message_id=message.message_id, commands=[command])
