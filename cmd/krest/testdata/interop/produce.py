"""Produces one record to TOPIC with confluent-kafka for each line of
standard input, KEY<TAB>VALUE, and exits once every record is acknowledged,
non-zero if any failed.

usage: produce.py BROKERS TOPIC < records
"""

import sys

from confluent_kafka import Producer


def main():
    brokers, topic = sys.argv[1], sys.argv[2]
    producer = Producer({"bootstrap.servers": brokers, "enable.idempotence": True})
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
