// Where the peer finds Redis and which queue it uses; shared by the server, worker and filler.
// BullMQ 6 takes a ready ioredis client in ESM (its optional ioredis is not loaded for us).
import { Redis } from 'ioredis';

const url = process.env.PEER_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export function connect() {
  return new Redis(url, { maxRetriesPerRequest: null }); // BullMQ's workers require it
}
export const QUEUE = process.env.PEER_QUEUE ?? 'peer';
