// The peer's worker: a no-op job, or `steps` progress events at `rate` per second (fan-out).
import { Worker } from 'bullmq';
import { connect, QUEUE } from './redis.mjs';

const concurrency = Number(process.env.PEER_CONCURRENCY ?? 2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const worker = new Worker(
  QUEUE,
  async (job) => {
    const steps = Number(job.data?.steps ?? 0);
    const rate = Number(job.data?.rate ?? 20);
    const started = Date.now();
    for (let step = 1; step <= steps; step += 1) {
      const due = started + (step * 1000) / rate;
      if (due > Date.now()) await sleep(due - Date.now());
      await job.updateProgress(step / steps);
    }
    return { steps };
  },
  { connection: connect(), concurrency },
);

await worker.waitUntilReady();
console.log(`peer worker on ${QUEUE}, concurrency ${concurrency}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    await worker.close();
    process.exit(0);
  });
}
