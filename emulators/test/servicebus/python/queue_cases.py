"""Queue cases through azure-servicebus 7.8 (uamqp): what a downstream consumer written in Python does."""
import datetime
import time

from azure.servicebus import ServiceBusMessage, ServiceBusMessageState, ServiceBusReceiveMode, ServiceBusSubQueue
from azure.servicebus.exceptions import ServiceBusError

from sbsuite import client, props, run

WAIT = 3  # seconds a receive waits for its first message


def send_receive_complete():
    with client() as sb:
        with sb.get_queue_sender("send-receive") as sender:
            sender.send_messages(
                ServiceBusMessage(
                    '{"order":1}',
                    message_id="order-1",
                    subject="OrderPlaced",
                    content_type="application/json",
                    correlation_id="corr-1",
                    application_properties={"outbox-id": "row-1", "attempt": 2},
                )
            )
            sender.send_messages([ServiceBusMessage("second"), ServiceBusMessage("third")])
        with sb.get_queue_receiver("send-receive") as receiver:
            messages = receiver.receive_messages(max_message_count=3, max_wait_time=WAIT)
            while len(messages) < 3:
                more = receiver.receive_messages(max_message_count=3 - len(messages), max_wait_time=WAIT)
                if not more:
                    break
                messages += more
            first = messages[0]
            seen = {
                "bodies": [str(m) for m in messages],
                "sequenceNumbers": [m.sequence_number for m in messages],
                "messageId": first.message_id,
                "subject": first.subject,
                "contentType": first.content_type,
                "correlationId": first.correlation_id,
                "properties": props(first),
                "deliveryCount": first.delivery_count,
                "hasLockToken": first.lock_token is not None,
                "lockedUntilInFuture": first.locked_until_utc > datetime.datetime.now(datetime.timezone.utc),
                "enqueued": first.enqueued_time_utc is not None,
            }
            for m in messages:
                receiver.complete_message(m)
            seen["afterComplete"] = len(receiver.peek_messages(max_message_count=10, sequence_number=1))
        return seen


def abandon():
    with client() as sb:
        with sb.get_queue_sender("abandon") as sender:
            sender.send_messages(ServiceBusMessage("retry me"))
        with sb.get_queue_receiver("abandon") as receiver:
            first = receiver.receive_messages(max_wait_time=WAIT)[0]
            receiver.abandon_message(first)
            again = receiver.receive_messages(max_wait_time=WAIT)[0]
            receiver.complete_message(again)
            return {"first": first.delivery_count, "again": again.delivery_count, "sameMessage": first.message_id == again.message_id}


def dead_letter_with_reason():
    with client() as sb:
        with sb.get_queue_sender("dead-letter") as sender:
            sender.send_messages(ServiceBusMessage("poison", application_properties={"kind": "poison"}))
        with sb.get_queue_receiver("dead-letter") as receiver:
            message = receiver.receive_messages(max_wait_time=WAIT)[0]
            receiver.dead_letter_message(message, reason="SchemaInvalid", error_description="field 'total' is missing")
            remaining = len(receiver.peek_messages(max_message_count=10, sequence_number=1))
        with sb.get_queue_receiver("dead-letter", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
            dead = dlq.receive_messages(max_wait_time=WAIT)[0]
            dlq.complete_message(dead)
            return {
                "remaining": remaining,
                "body": str(dead),
                "reason": dead.dead_letter_reason,
                "description": dead.dead_letter_error_description,
                "properties": props(dead),
            }


def max_delivery_count():
    with client() as sb:
        with sb.get_queue_sender("dead-letter") as sender:
            sender.send_messages(ServiceBusMessage("always abandoned", message_id="mdc-1"))
        with sb.get_queue_receiver("dead-letter") as receiver:
            for _ in range(2):  # MaxDeliveryCount of "dead-letter" is 2
                receiver.abandon_message(receiver.receive_messages(max_wait_time=WAIT)[0])
            left = receiver.receive_messages(max_wait_time=1)
        with sb.get_queue_receiver("dead-letter", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
            dead = dlq.receive_messages(max_wait_time=WAIT)[0]
            dlq.complete_message(dead)
            return {"left": len(left), "messageId": dead.message_id, "reason": dead.dead_letter_reason}


def receive_and_delete():
    with client() as sb:
        with sb.get_queue_sender("receive-delete") as sender:
            sender.send_messages([ServiceBusMessage("a"), ServiceBusMessage("b")])
        with sb.get_queue_receiver("receive-delete", receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
            messages = receiver.receive_messages(max_message_count=2, max_wait_time=WAIT)
            while len(messages) < 2:
                more = receiver.receive_messages(max_message_count=1, max_wait_time=WAIT)
                if not more:
                    break
                messages += more
            return {
                "bodies": [str(m) for m in messages],
                "lockTokens": [m.lock_token for m in messages],
                "left": len(receiver.peek_messages(max_message_count=10, sequence_number=1)),
            }


def peek():
    # peek_messages starts after the last message this receiver got unless given a sequence number (SDK behaviour),
    # so the other cases peek from 1 to see everything left.
    with client() as sb:
        with sb.get_queue_sender("peek") as sender:
            sender.send_messages([ServiceBusMessage("p1"), ServiceBusMessage("p2"), ServiceBusMessage("p3")])
        with sb.get_queue_receiver("peek") as receiver:
            all_three = receiver.peek_messages(max_message_count=10, sequence_number=1)
            from_second = receiver.peek_messages(max_message_count=10, sequence_number=all_three[1].sequence_number)
            # Peeking locks nothing: every message is still there to receive.
            received = receiver.receive_messages(max_message_count=3, max_wait_time=WAIT)
            while len(received) < 3:
                more = receiver.receive_messages(max_message_count=3, max_wait_time=WAIT)
                if not more:
                    break
                received += more
            for m in received:
                receiver.complete_message(m)
            return {
                "peeked": [str(m) for m in all_three],
                "states": [m.state.name for m in all_three],
                "fromSecond": [str(m) for m in from_second],
                "received": sorted(str(m) for m in received),
            }


def schedule_and_cancel():
    with client() as sb:
        now = datetime.datetime.now(datetime.timezone.utc)
        with sb.get_queue_sender("schedule") as sender:
            later = sender.schedule_messages([ServiceBusMessage("in an hour"), ServiceBusMessage("also later")], now + datetime.timedelta(hours=1))
            soon = sender.schedule_messages(ServiceBusMessage("in a second"), now + datetime.timedelta(seconds=1))
            with sb.get_queue_receiver("schedule") as receiver:
                scheduled = receiver.peek_messages(max_message_count=10, sequence_number=1)
                sender.cancel_scheduled_messages(later)
                arrived = receiver.receive_messages(max_wait_time=5)
                for m in arrived:
                    receiver.complete_message(m)
                left = receiver.peek_messages(max_message_count=10, sequence_number=1)
            return {
                "sequenceNumbers": later + soon,
                "scheduledStates": [m.state == ServiceBusMessageState.SCHEDULED for m in scheduled if m.sequence_number in later],
                "arrived": [str(m) for m in arrived],
                "scheduledTimeKept": [m.scheduled_enqueue_time_utc is not None for m in arrived],
                "left": len(left),
            }


def defer_and_settle_deferred():
    with client() as sb:
        with sb.get_queue_sender("defer") as sender:
            sender.send_messages([ServiceBusMessage("later 1"), ServiceBusMessage("later 2")])
        with sb.get_queue_receiver("defer") as receiver:
            received = receiver.receive_messages(max_message_count=2, max_wait_time=WAIT)
            while len(received) < 2:
                received += receiver.receive_messages(max_message_count=1, max_wait_time=WAIT)
            for m in received:
                receiver.defer_message(m)
            sequence_numbers = [m.sequence_number for m in received]
            nothing_active = receiver.receive_messages(max_wait_time=1)
            states = [m.state.name for m in receiver.peek_messages(max_message_count=10, sequence_number=1)]
            deferred = receiver.receive_deferred_messages(sequence_numbers)
            tokens = [str(m.lock_token) for m in deferred]
            renewed = receiver.renew_message_lock(deferred[0])
            receiver.complete_message(deferred[0])
            receiver.dead_letter_message(deferred[1], reason="NotNeeded", error_description="deferred then dead-lettered")
            left = receiver.peek_messages(max_message_count=10, sequence_number=1)
        with sb.get_queue_receiver("defer", sub_queue=ServiceBusSubQueue.DEAD_LETTER) as dlq:
            dead = dlq.receive_messages(max_wait_time=WAIT)
            for m in dead:
                dlq.complete_message(m)
        return {
            "activeWhileDeferred": len(nothing_active),
            "peekedStates": states,
            "deferredBodies": [str(m) for m in deferred],
            "lockTokens": tokens,
            "renewed": renewed is not None,
            "left": len(left),
            "deadLettered": [(str(m), m.dead_letter_reason) for m in dead],
        }


def renew_lock():
    with client() as sb:
        with sb.get_queue_sender("lock") as sender:
            sender.send_messages(ServiceBusMessage("hold me"))
        with sb.get_queue_receiver("lock") as receiver:
            message = receiver.receive_messages(max_wait_time=WAIT)[0]
            before = message.locked_until_utc
            time.sleep(0.6)
            after = receiver.renew_message_lock(message)
            time.sleep(1.2)  # past the first lock (LockDuration 1.5 s), within the renewed one
            receiver.complete_message(message)
            return {"extended": after > before, "left": len(receiver.peek_messages(max_message_count=10, sequence_number=1))}


def lock_lost():
    with client() as sb:
        with sb.get_queue_sender("lock") as sender:
            sender.send_messages(ServiceBusMessage("too slow"))
        with sb.get_queue_receiver("lock") as receiver:
            message = receiver.receive_messages(max_wait_time=WAIT)[0]
            time.sleep(2)  # past LockDuration (1.5 s)
            try:
                receiver.complete_message(message)
                outcome = "completed"
            except ServiceBusError as error:  # uamqp cannot read a disposition's outcome: the SDK checks the lock itself
                outcome = type(error).__name__
            again = receiver.receive_messages(max_wait_time=WAIT)
            for m in again:
                receiver.complete_message(m)
            return {"outcome": outcome, "redelivered": [(str(m), m.delivery_count) for m in again]}


def batch_send():
    with client() as sb:
        with sb.get_queue_sender("batch") as sender:
            batch = sender.create_message_batch()
            for i in range(20):
                batch.add_message(ServiceBusMessage(f"item {i}"))
            max_size = batch.max_size_in_bytes
            sender.send_messages(batch)
        with sb.get_queue_receiver("batch", receive_mode=ServiceBusReceiveMode.RECEIVE_AND_DELETE) as receiver:
            got = []
            while len(got) < 20:
                more = receiver.receive_messages(max_message_count=20, max_wait_time=WAIT)
                if not more:
                    break
                got += more
            return {"maxSize": max_size, "bodies": [str(m) for m in got]}


def unknown_entity():
    with client() as sb:
        try:
            with sb.get_queue_sender("no-such-queue") as sender:
                sender.send_messages(ServiceBusMessage("lost"))
            return {"outcome": "sent"}
        except ServiceBusError as error:
            # 7.8 maps amqp:not-found on a link detach to ServiceBusCommunicationError (uamqp's LinkDetach is a
            # connection error); the condition travels in the text.
            return {"outcome": type(error).__name__, "message": str(error)}


run(
    {
        "sendReceiveComplete": send_receive_complete,
        "abandon": abandon,
        "deadLetterWithReason": dead_letter_with_reason,
        "maxDeliveryCount": max_delivery_count,
        "receiveAndDelete": receive_and_delete,
        "peek": peek,
        "scheduleAndCancel": schedule_and_cancel,
        "deferAndSettleDeferred": defer_and_settle_deferred,
        "renewLock": renew_lock,
        "lockLost": lock_lost,
        "batchSend": batch_send,
        "unknownEntity": unknown_entity,
    }
)
