// The seed's stack as the benchmark's peer: Fastify takes a job as JSON and enqueues it with
// BullMQ; BullMQ's queue events (a Redis stream) are broadcast to every WebSocket client.
// What it does not do, on purpose (see docs/performance.md): validate parameters, keep a job
// record of its own, authenticate, replay missed events or drop slow clients.
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import websocket from '@fastify/websocket';
import { Queue, QueueEvents } from 'bullmq';
import { connect, QUEUE } from './redis.mjs';

const port = Number(process.env.PEER_PORT ?? 3100);
const queue = new Queue(QUEUE, { connection: connect() });
const events = new QueueEvents(QUEUE, { connection: connect() });
const app = Fastify({ logger: false });
const sockets = new Set();

await app.register(websocket);

app.get('/health', async () => ({ status: 'ok' }));

app.post('/api/generate', async (request, reply) => {
  // A 32-hex id like ours, so the benchmark's clients read both the same way.
  const id = randomUUID().replaceAll('-', '');
  await queue.add('generate', request.body ?? {}, { jobId: id, removeOnComplete: { age: 3600 } });
  reply.code(202);
  return { id, type: 'generate', state: 'queued', params: request.body ?? {} };
});

app.get('/api/jobs/:id', async (request, reply) => {
  const job = await queue.getJob(request.params.id);
  if (!job) return reply.code(404).send({ error: 'not found' });
  return { id: job.id, state: await job.getState(), progress: job.progress };
});

app.get('/ws', { websocket: true }, (socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

// Frames shaped like ours ({"type":"event","id":<stream id>,...}): the stream id is Redis's
// clock when the event was appended, which the benchmark's clients subtract from arrival time.
function broadcast(event, jobId, id, extra) {
  const frame = JSON.stringify({ type: 'event', id, event, job: { id: jobId, ...extra } });
  for (const socket of sockets) socket.send(frame);
}

events.on('active', ({ jobId }, id) => broadcast('job.started', jobId, id, { state: 'running' }));
events.on('progress', ({ jobId, data }, id) => broadcast('job.progress', jobId, id, { state: 'running', progress: data }));
events.on('completed', ({ jobId }, id) => broadcast('job.succeeded', jobId, id, { state: 'succeeded' }));
events.on('failed', ({ jobId }, id) => broadcast('job.failed', jobId, id, { state: 'failed' }));

await events.waitUntilReady();
await app.listen({ host: '127.0.0.1', port });
console.log(`peer api on 127.0.0.1:${port}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, async () => {
    await app.close();
    await Promise.all([events.close(), queue.close()]);
    process.exit(0);
  });
}
