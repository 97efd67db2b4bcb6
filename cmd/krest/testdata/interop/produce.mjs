// Produces one record to TOPIC with kafkajs for each line of standard input,
// KEY<TAB>VALUE, and exits once every record is acknowledged, non-zero if
// any failed.
//
// usage: node produce.mjs BROKERS TOPIC < records
import { createInterface } from 'node:readline'
import { readFileSync } from 'node:fs'
import { Kafka, logLevel } from 'kafkajs'

// SASL_SSL from INTEROP_SASL_MECHANISM, INTEROP_SASL_USER,
// INTEROP_SASL_PASSWORD and INTEROP_TLS_CA, if set.
function security () {
  const mechanism = process.env.INTEROP_SASL_MECHANISM
  if (!mechanism) return {}
  return {
    ssl: { ca: [readFileSync(process.env.INTEROP_TLS_CA)] },
    sasl: { mechanism: mechanism.toLowerCase(), username: process.env.INTEROP_SASL_USER, password: process.env.INTEROP_SASL_PASSWORD },
  }
}

const [brokers, topic] = process.argv.slice(2)
const logCreator = () => ({ namespace, log }) => console.error(namespace, JSON.stringify(log))
const kafka = new Kafka({ clientId: 'krest-interop', brokers: brokers.split(','), logLevel: logLevel.WARN, logCreator, ...security() })
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })

const messages = []
for await (const line of createInterface({ input: process.stdin })) {
  const tab = line.indexOf('\t')
  messages.push({ key: line.slice(0, tab), value: line.slice(tab + 1) })
}
await producer.connect()
await producer.send({ topic, messages })
await producer.disconnect()
