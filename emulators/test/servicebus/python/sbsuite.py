"""Shared by the Python suite's scripts: a ServiceBusClient (azure-servicebus 7.8 on uamqp, Debian's python3-azure)
pointed at the emulator's TLS listener, and a runner that executes named cases and prints one JSON line of results.

The emulator is reached as a real namespace would be: amqps, SAS key from a connection string, the emulator's
self-signed certificate trusted through `connection_verify`. One thing differs: this SDK always dials port 5671
(the endpoint's port only reaches the token audience; `custom_endpoint_address` would switch to WebSockets), and
with a port in the endpoint it ignores the session id in a next-available session's attach (uamqp drops the port
from link addresses, so the attach's source no longer equals the SDK's entity URI). So the endpoint names the host
alone and the SDK's default amqps port is set to the emulator's TLS port (SB_TLS_PORT): the one setting the suite
changes inside the SDK.
"""
import json
import os
import sys
import time
import traceback

import azure.servicebus._common._configuration as _sdk_configuration
from azure.servicebus import ServiceBusClient

NAMESPACE = os.environ.get("SB_NAMESPACE", "127.0.0.1")
TLS_PORT = int(os.environ["SB_TLS_PORT"])
CA_FILE = os.environ["SB_CA_FILE"]
KEY_NAME = os.environ["SB_KEY_NAME"]
KEY = os.environ["SB_KEY"]

_sdk_configuration.DEFAULT_AMQPS_PORT = TLS_PORT


def connection_string(key_name=KEY_NAME, key=KEY):
    return f"Endpoint=sb://{NAMESPACE}/;SharedAccessKeyName={key_name};SharedAccessKey={key}"


def client(**kwargs):
    """A client with no retries, so a failure shows at once and as itself."""
    kwargs.setdefault("connection_verify", CA_FILE)
    kwargs.setdefault("retry_total", 0)
    return ServiceBusClient.from_connection_string(connection_string(), **kwargs)


def text(value):
    """Bytes the SDK hands back (application property keys and values, session ids) as text."""
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else value


def props(message):
    return {text(k): text(v) for k, v in (message.application_properties or {}).items()}


def run(cases):
    """Runs each case in order; a case returns what it observed, or its exception is reported by type and text."""
    results = {}
    for name, case in cases.items():
        started = time.monotonic()
        try:
            results[name] = {"ok": True, "value": case()}
        except Exception as error:  # reported to the Jest side, which asserts on it
            results[name] = {"ok": False, "error": type(error).__name__, "message": str(error)}
            traceback.print_exc(file=sys.stderr)
        sys.stderr.write(f"case {name}: {time.monotonic() - started:.1f} s\n")
    sys.stdout.write(json.dumps(results, default=str) + "\n")
    sys.stdout.flush()
