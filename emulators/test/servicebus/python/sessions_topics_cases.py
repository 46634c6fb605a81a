"""Session and topic cases through azure-servicebus 7.8 (uamqp): ordered processing per key, session state, and the
fan-out of one event to subscriptions by correlation and SQL filters (with a SQL rule action)."""
from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusMessage, ServiceBusReceiveMode, ServiceBusSubQueue
from azure.servicebus.exceptions import ServiceBusError

from sbsuite import client, props, run, text

WAIT = 3


def receive_all(receiver, expected):
    got = []
    while len(got) < expected:
        more = receiver.receive_messages(max_message_count=expected - len(got), max_wait_time=WAIT)
        if not more:
            break
        got += more
    return got


def named_session_in_order_with_state():
    with client() as sb:
        with sb.get_queue_sender("orders-by-customer") as sender:
            for i in range(5):
                sender.send_messages(ServiceBusMessage(f"A{i}", session_id="customer-A"))
                sender.send_messages(ServiceBusMessage(f"B{i}", session_id="customer-B"))
        with sb.get_queue_receiver("orders-by-customer", session_id="customer-A") as receiver:
            session = receiver.session
            initial_state = session.get_state()
            messages = receive_all(receiver, 5)
            for m in messages:
                receiver.complete_message(m)
            session.set_state("checkpoint:A4")
            state = text(session.get_state())
            before = session.locked_until_utc
            renewed = session.renew_lock()
            return {
                "sessionId": session.session_id,
                "bodies": [str(m) for m in messages],
                "messageSessionIds": sorted({m.session_id for m in messages}),
                "initialState": initial_state,
                "state": state,
                "renewed": renewed >= before,
            }


def next_available_session():
    with client() as sb:
        with sb.get_queue_receiver("orders-by-customer", session_id=NEXT_AVAILABLE_SESSION) as receiver:
            session_id = receiver.session.session_id
            messages = receive_all(receiver, 5)
            for m in messages:
                receiver.complete_message(m)
            receiver.session.set_state(None)
            return {"sessionId": session_id, "bodies": [str(m) for m in messages], "state": receiver.session.get_state()}


def session_state_survives_receivers():
    with client() as sb:
        with sb.get_queue_sender("orders-by-customer") as sender:
            sender.send_messages(ServiceBusMessage("C0", session_id="customer-C"))
        with sb.get_queue_receiver("orders-by-customer", session_id="customer-C") as receiver:
            receiver.session.set_state(b"\x00\x01binary")
        with sb.get_queue_receiver("orders-by-customer", session_id="customer-C") as receiver:
            state = receiver.session.get_state()
            for m in receive_all(receiver, 1):
                receiver.complete_message(m)
            return {"state": list(state)}


def session_is_exclusive():
    with client() as sb:
        with sb.get_queue_sender("orders-by-customer") as sender:
            sender.send_messages(ServiceBusMessage("D0", session_id="customer-D"))
        with sb.get_queue_receiver("orders-by-customer", session_id="customer-D") as first:
            try:
                with sb.get_queue_receiver("orders-by-customer", session_id="customer-D") as second:
                    second.receive_messages(max_wait_time=1)
                    outcome = "second receiver got the session"
            except ServiceBusError as error:
                outcome = type(error).__name__
            for m in receive_all(first, 1):
                first.complete_message(m)
            return {"outcome": outcome}


def topic_correlation_filters():
    with client() as sb:
        with sb.get_topic_sender("order-events") as sender:
            sender.send_messages(
                [
                    ServiceBusMessage("red order placed", subject="OrderPlaced", application_properties={"color": "red"}),
                    ServiceBusMessage("blue order placed", subject="OrderPlaced", application_properties={"color": "blue"}),
                    ServiceBusMessage("red order shipped", subject="OrderShipped", application_properties={"color": "red"}),
                    ServiceBusMessage("audit", correlation_id="audit-1"),
                ]
            )
        seen = {}
        for subscription, expected in (("all", 4), ("red", 2), ("placed", 2), ("audit", 1)):
            with sb.get_subscription_receiver("order-events", subscription, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
                got = receive_all(receiver, expected)
                got += receiver.receive_messages(max_wait_time=1)  # nothing more may come
                seen[subscription] = sorted(str(m) for m in got)
        return seen


def topic_sql_filters():
    with client() as sb:
        with sb.get_topic_sender("sql-events") as sender:
            sender.send_messages(
                [
                    ServiceBusMessage("m1", subject="OrderPlaced", application_properties={"color": "red", "quantity": 5, "region": "eu-west"}),
                    ServiceBusMessage("m2", subject="OrderPlaced", application_properties={"color": "red", "quantity": 50, "region": "us"}),
                    ServiceBusMessage("m3", subject="OrderShipped", application_properties={"color": "blue", "quantity": 200, "region": "eu-north"}),
                    ServiceBusMessage("m4", subject="Invoice"),
                ]
            )
        seen = {}
        for subscription, expected in (("big-red", 1), ("eu-orders", 2), ("bulk", 1), ("no-color", 1)):
            with sb.get_subscription_receiver("sql-events", subscription, receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
                got = receive_all(receiver, expected)
                got += receiver.receive_messages(max_wait_time=1)  # nothing more may come
                seen[subscription] = sorted(
                    (str(m), props(m).get("priority"), props(m).get("RuleName")) for m in got
                )
        return seen


def subscription_dead_letter():
    with client() as sb:
        with sb.get_topic_sender("order-events") as sender:
            sender.send_messages(ServiceBusMessage("bad red", application_properties={"color": "red"}))
        with sb.get_subscription_receiver("order-events", "red") as receiver:
            message = receive_all(receiver, 1)[0]
            receiver.dead_letter_message(message, reason="Rejected", error_description="red is out of stock")
        with sb.get_subscription_receiver("order-events", "all", receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
            other_copy = [str(m) for m in receive_all(receiver, 1)]
        with sb.get_subscription_receiver("order-events", "red", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
            dead = receive_all(dlq, 1)
            for m in dead:
                dlq.complete_message(m)
            return {
                "dead": [(str(m), m.dead_letter_reason, m.dead_letter_error_description, props(m).get("color")) for m in dead],
                "otherSubscription": other_copy,
            }


run(
    {
        "namedSessionInOrderWithState": named_session_in_order_with_state,
        "nextAvailableSession": next_available_session,
        "sessionStateSurvivesReceivers": session_state_survives_receivers,
        "sessionIsExclusive": session_is_exclusive,
        "topicCorrelationFilters": topic_correlation_filters,
        "subscriptionDeadLetter": subscription_dead_letter,
        "topicSqlFilters": topic_sql_filters,
    }
)
