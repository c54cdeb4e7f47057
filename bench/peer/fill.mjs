// Queue `count` no-op jobs before the worker starts (the worker-throughput case).
import { Queue } from 'bullmq';
import { connect, QUEUE } from './redis.mjs';

const count = Number(process.argv[2] ?? 1000);
const connection = connect();
const queue = new Queue(QUEUE, { connection });
const BATCH = 500;
for (let first = 0; first < count; first += BATCH) {
  const size = Math.min(BATCH, count - first);
  await queue.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true } })));
}
await queue.close();
await connection.quit(); // BullMQ leaves a connection it was given open
console.log(JSON.stringify({ queued: count }));
