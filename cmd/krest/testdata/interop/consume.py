"""Reads COUNT records of TOPIC from its start with confluent-kafka, in a
consumer group of its own, and prints each as one JSON line with the fields
kcat -J prints: key, payload and headers as [name, value, ...], all UTF-8.

usage: consume.py BROKERS TOPIC COUNT
"""

import json
import os
import sys
import uuid

from confluent_kafka import Consumer


def text(b):
    return None if b is None else b.decode("utf-8")


def security():
    """librdkafka's SASL_SSL settings from INTEROP_SASL_MECHANISM,
    INTEROP_SASL_USER, INTEROP_SASL_PASSWORD and INTEROP_TLS_CA, if set."""
    if not os.environ.get("INTEROP_SASL_MECHANISM"):
        return {}
    return {
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": os.environ["INTEROP_SASL_MECHANISM"],
        "sasl.username": os.environ["INTEROP_SASL_USER"],
        "sasl.password": os.environ["INTEROP_SASL_PASSWORD"],
        "ssl.ca.location": os.environ["INTEROP_TLS_CA"],
    }


def main():
    brokers, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    consumer = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "interop-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **security(),
    })
    consumer.subscribe([topic])
    got = 0
    while got < count:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            sys.exit("consume.py: %s" % msg.error())
        headers = []
        for name, value in msg.headers() or []:
            headers += [name, text(value)]
        print(json.dumps({"key": text(msg.key()), "payload": text(msg.value()), "headers": headers}), flush=True)
        got += 1
    consumer.close()


if __name__ == "__main__":
    main()
