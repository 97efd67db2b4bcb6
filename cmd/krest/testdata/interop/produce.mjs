// Produces one record to TOPIC with kafkajs for each line of standard input,
// KEY<TAB>VALUE, and exits once every record is acknowledged, non-zero if
// any failed.
//
// usage: node produce.mjs BROKERS TOPIC < records
import { createInterface } from 'node:readline'
import { Kafka, logLevel } from 'kafkajs'

const [brokers, topic] = process.argv.slice(2)
const logCreator = () => ({ namespace, log }) => console.error(namespace, JSON.stringify(log))
const kafka = new Kafka({ clientId: 'krest-interop', brokers: brokers.split(','), logLevel: logLevel.WARN, logCreator })
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })

const messages = []
for await (const line of createInterface({ input: process.stdin })) {
  const tab = line.indexOf('\t')
  messages.push({ key: line.slice(0, tab), value: line.slice(tab + 1) })
}
await producer.connect()
await producer.send({ topic, messages })
await producer.disconnect()
