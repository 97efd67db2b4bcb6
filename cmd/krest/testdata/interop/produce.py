"""Produces one record to TOPIC with confluent-kafka for each line of
standard input, KEY<TAB>VALUE, and exits once every record is acknowledged,
non-zero if any failed.

usage: produce.py BROKERS TOPIC < records
"""

import os
import sys

from confluent_kafka import Producer


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
    brokers, topic = sys.argv[1], sys.argv[2]
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True, **security()})
    failed = []

    def report(err, msg):
        if err is not None:
            failed.append("%s: %s" % (msg.key(), err))

    for line in sys.stdin:
        key, value = line.rstrip("\n").split("\t", 1)
        producer.produce(topic, key=key.encode(), value=value.encode(), on_delivery=report)
    left = producer.flush(60)
    if left or failed:
        sys.exit("produce.py: %d unacknowledged, failed: %s" % (left, failed))


if __name__ == "__main__":
    main()
