// Reads COUNT records of TOPIC from its start with kafkajs, in a consumer
// group of its own, and prints each as one JSON line with the fields kcat -J
// prints: key, payload and headers as [name, value, ...], all UTF-8.
//
// usage: node consume.mjs BROKERS TOPIC COUNT
import { randomUUID } from 'node:crypto'
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

const [brokers, topic, count] = process.argv.slice(2)
const logCreator = () => ({ namespace, log }) => console.error(namespace, JSON.stringify(log))
const kafka = new Kafka({ clientId: 'krest-interop', brokers: brokers.split(','), logLevel: logLevel.WARN, logCreator, ...security() })
const consumer = kafka.consumer({ groupId: 'interop-' + randomUUID() })
const text = (b) => (b == null ? null : b.toString('utf8'))

await consumer.connect()
await consumer.subscribe({ topic, fromBeginning: true })
let got = 0
await new Promise((resolve, reject) => {
  consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error))
  consumer.run({
    eachMessage: async ({ message }) => {
      if (got >= Number(count)) return
      const headers = []
      // Repeated names come as an array of values.
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        for (const v of [value].flat()) headers.push(name, text(v))
      }
      console.log(JSON.stringify({ key: text(message.key), payload: text(message.value), headers }))
      if (++got === Number(count)) resolve()
    },
  }).catch(reject)
})
await consumer.disconnect()
