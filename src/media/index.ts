export type { FileMediaStoreOptions } from './file.ts';
export { createFileMediaStore } from './file.ts';
export { MEDIA_ID, sha256 } from './id.ts';
export type { RedisMediaClient, RedisMediaStoreOptions } from './redis.ts';
export { createRedisMediaStore, REDIS_MEDIA_MAX_BYTES } from './redis.ts';
export type { S3MediaStoreOptions } from './s3.ts';
export { createS3MediaStore } from './s3.ts';
export type { MediaStoreSpec, OpenMediaStoreOptions } from './spec.ts';
export {
  DEFAULT_MEDIA_STORE,
  describeMediaStoreSpec,
  mediaStoreFromEnv,
  mediaTtlFromEnv,
  openMediaStore,
  parseMediaStoreSpec,
} from './spec.ts';
export type {
  MediaStore,
  MediaStoreOptions,
  OpenedMedia,
  OpenOptions,
  SignedUrlOptions,
  StoredMedia,
  SweepOptions,
  SweepResult,
} from './types.ts';
export { DEFAULT_MEDIA_TTL_SECONDS } from './types.ts';
