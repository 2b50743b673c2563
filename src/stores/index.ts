export type { FileStoreOptions } from './file.ts';
export { createFileStore } from './file.ts';
export type { MemoryStore } from './memory.ts';
export { createMemoryStore } from './memory.ts';
export type { RedisLike, RedisNode, RedisStoreOptions, RedisTopology } from './redis.ts';
export { createRedisStore, describeRedisTopology, describeRedisUrl } from './redis.ts';
export type { OpenStoreOptions, StoreSpec } from './spec.ts';
export { describeStoreSpec, openStore, parseStoreSpec } from './spec.ts';
export type { Store, StoreClockOptions } from './types.ts';
