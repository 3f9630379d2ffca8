// Reads every message of the given topics from the beginning with kafkajs and
// prints one JSON line per message: {"topic","partition","offset","key","value"}
// (key/value null when absent). Stops once at least <min> messages arrived and
// none came for 2 s, or after <timeout ms>; exit code 2 on a client error.
//
//   node consume.js <bootstrap servers> <topic,topic,...> <min> <timeout ms>
const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = require('kafkajs');
const LZ4Codec = require('kafkajs-lz4');

// The daemon's producer compresses with LZ4 (kafkajs has no codec of its own for it).
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec;

const [brokers, topics, min, timeoutMs] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'customer-cdc-test', brokers: brokers.split(','), logLevel: logLevel.ERROR });
const consumer = kafka.consumer({ groupId: `kafkajs-${process.pid}-${Date.now()}` });

let count = 0;
let last = Date.now();
const started = Date.now();

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topics: topics.split(','), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      count += 1;
      last = Date.now();
      process.stdout.write(JSON.stringify({
        topic, partition, offset: message.offset,
        key: message.key === null ? null : message.key.toString('utf8'),
        value: message.value === null ? null : message.value.toString('utf8'),
      }) + '\n');
    },
  });
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = Date.now();
    if ((count >= Number(min) && now - last > 2000) || now - started > Number(timeoutMs)) break;
  }
  await consumer.disconnect();
}

main().catch((error) => {
  process.stderr.write(`kafkajs: ${error.stack || error}\n`);
  process.exit(2);
});
