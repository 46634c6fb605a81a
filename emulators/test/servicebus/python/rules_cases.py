"""Rule management through azure-servicebus 7.8 (uamqp). Its public API manages rules only with the HTTPS
administration client; over AMQP the SDK declares the operations (constants REQUEST_RESPONSE_ADD_RULE_OPERATION,
..._REMOVE_RULE_..., ..._GET_RULES_...) but exposes no method, so these cases send them through the receiver's own
management request path (`_mgmt_request_response_with_retry`), the way a Python consumer managing rules over AMQP
would, with the request maps Service Bus documents ("AMQP request/response", rule operations)."""
from azure.servicebus import ServiceBusMessage, ServiceBusReceiveMode
from azure.servicebus._common.constants import (
    REQUEST_RESPONSE_ADD_RULE_OPERATION,
    REQUEST_RESPONSE_GET_RULES_OPERATION,
    REQUEST_RESPONSE_REMOVE_RULE_OPERATION,
)
from azure.servicebus._common import mgmt_handlers
from azure.servicebus.exceptions import ServiceBusError

from sbsuite import client, props, run, text

TOPIC, SUBSCRIPTION = "rule-events", "managed"


def status_and_body(status_code, message, description):
    return {"status": status_code, "body": message.get_data(), "description": text(description)}


def rule_names(receiver):
    answer = receiver._mgmt_request_response_with_retry(REQUEST_RESPONSE_GET_RULES_OPERATION, {"top": 100, "skip": 0}, status_and_body)
    names = []
    for entry in (answer["body"] or {}).get(b"rules", []):
        description = entry[b"rule-description"]
        # A described list: filter, action, name, created-at (Service Bus's RuleDescription).
        fields = description.value if hasattr(description, "value") else description
        names.append(text(fields[2]))
    return {"status": answer["status"], "names": names}


def add_rule(receiver, name, description):
    body = {"rule-name": name, "rule-description": description}
    return receiver._mgmt_request_response_with_retry(REQUEST_RESPONSE_ADD_RULE_OPERATION, body, mgmt_handlers.default)


def remove_rule(receiver, name):
    return receiver._mgmt_request_response_with_retry(REQUEST_RESPONSE_REMOVE_RULE_OPERATION, {"rule-name": name}, mgmt_handlers.default)


def send_and_collect(sb, messages, expected):
    with sb.get_topic_sender(TOPIC) as sender:
        sender.send_messages(messages)
    with sb.get_subscription_receiver(TOPIC, SUBSCRIPTION, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
        got = []
        while len(got) < expected:
            more = receiver.receive_messages(max_message_count=10, max_wait_time=3)
            if not more:
                break
            got += more
        got += receiver.receive_messages(max_wait_time=1)  # nothing more may come
        return sorted((str(m), props(m).get("tier")) for m in got)


def manage_rules():
    with client() as sb:
        with sb.get_subscription_receiver(TOPIC, SUBSCRIPTION) as receiver:
            initial = rule_names(receiver)
            add_rule(receiver, "large", {"sql-filter": {"expression": "amount >= 1000"}, "sql-rule-action": {"expression": "SET tier = 'gold'"}})
            add_rule(receiver, "eu", {"correlation-filter": {"properties": {"region": "eu"}}})
            remove_rule(receiver, "$Default")
            after_changes = rule_names(receiver)
            try:
                add_rule(receiver, "large", {"sql-filter": {"expression": "1=1"}})
                duplicate = "added"
            except ServiceBusError as error:
                duplicate = f"{type(error).__name__}: {error}"
            try:
                add_rule(receiver, "broken", {"sql-filter": {"expression": "amount >>= 1"}})
                unparsable = "added"
            except ServiceBusError as error:
                unparsable = f"{type(error).__name__}: {error}"
        routed = send_and_collect(
            sb,
            [
                ServiceBusMessage("small us", application_properties={"amount": 10, "region": "us"}),
                ServiceBusMessage("large us", application_properties={"amount": 5000, "region": "us"}),
                ServiceBusMessage("small eu", application_properties={"amount": 10, "region": "eu"}),
            ],
            2,
        )
        with sb.get_subscription_receiver(TOPIC, SUBSCRIPTION) as receiver:
            remove_rule(receiver, "large")
            remove_rule(receiver, "eu")
            emptied = rule_names(receiver)
        nothing = send_and_collect(sb, [ServiceBusMessage("kept by no rule", application_properties={"region": "eu"})], 0)
        return {
            "initial": initial,
            "afterChanges": after_changes,
            "duplicate": duplicate,
            "unparsable": unparsable,
            "routed": routed,
            "emptied": emptied,
            "withoutRules": nothing,
        }


run({"manageRules": manage_rules})
