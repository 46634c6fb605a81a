"""Connection and authentication cases: SASL PLAIN with the namespace's SAS key through uamqp (the AMQP library under
azure-servicebus 7.8), a wrong key or key name refused, and the SDK's own MSSBCBS + CBS path."""
import uamqp
from uamqp import authentication
from azure.servicebus import ServiceBusMessage, ServiceBusReceiveMode

from sbsuite import CA_FILE, KEY, KEY_NAME, NAMESPACE, TLS_PORT, client, run


def plain_send(username, password, body):
    auth = authentication.SASLPlain(NAMESPACE, username, password, port=TLS_PORT, verify=CA_FILE)
    with uamqp.SendClient(f"amqps://{NAMESPACE}/plain-auth", auth=auth) as sender:
        sender.queue_message(uamqp.Message(body))
        results = sender.send_all_messages(close_on_done=False)
    return [str(r) for r in results]


def received_bodies():
    with client() as sb:
        with sb.get_queue_receiver("plain-auth", receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
            return [str(m) for m in receiver.receive_messages(max_message_count=10, max_wait_time=2)]


def sasl_plain_with_the_namespace_key():
    outcomes = plain_send(KEY_NAME, KEY, b"sent over SASL PLAIN")
    return {"outcomes": outcomes, "received": received_bodies()}


def sasl_plain_wrong_key_refused():
    refusals = []
    for username, password in ((KEY_NAME, KEY + "x"), ("NotTheKeyName", KEY)):
        try:
            plain_send(username, password, b"must not arrive")
            refusals.append("sent")
        except Exception as error:  # uamqp raises its own connection errors here
            refusals.append(type(error).__name__)
    return {"refusals": refusals, "received": received_bodies()}


def sdk_over_mssbcbs_and_cbs():
    # The SDK's own path: SASL MSSBCBS, then a CBS put-token per link (uamqp sends it without reply-to).
    with client() as sb:
        with sb.get_queue_sender("plain-auth") as sender:
            sender.send_messages(ServiceBusMessage("sent by the SDK"))
    return {"received": received_bodies()}


run(
    {
        "saslPlainWithTheNamespaceKey": sasl_plain_with_the_namespace_key,
        "saslPlainWrongKeyRefused": sasl_plain_wrong_key_refused,
        "sdkOverMssbcbsAndCbs": sdk_over_mssbcbs_and_cbs,
    }
)
