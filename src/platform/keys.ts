import { createHash } from 'node:crypto';
import { ErrorCodes, WxkitError } from '../errors.ts';
import { type IndexedStore, isIndexedStore, type Store } from '../stores/types.ts';

/**
 * What the platform keeps in the store, and under which keys. The verify ticket and the
 * refresh tokens are the platform's memory: they have no TTL (a cache that drops them before 12 h — or
 * at all, for refresh tokens — is the failure the big SDKs' users report), refresh tokens change only by
 * compare-and-set, and the index of authorized accounts is spread over {@link INDEX_SHARDS} sets so that
 * in a Redis Cluster no node holds all of it. Every key holds one account's data, so every script the
 * store runs stays on one slot.
 */

/** How many sets the account index is spread over. */
export const INDEX_SHARDS = 16;

export const platformKeys = {
  verifyTicket: (component: string) => `wxkit:component:${component}:verify_ticket`,
  refreshToken: (component: string, appId: string) =>
    `wxkit:component:${component}:authorizer:{${appId}}:refresh_token`,
  revoked: (component: string, appId: string) => `wxkit:component:${component}:authorizer:{${appId}}:revoked`,
  indexShard: (component: string, shard: number) => `wxkit:component:${component}:authorizers:{s${shard}}`,
  /** Accounts that took their authorization back, spread like the index (status and doctor count them). */
  revokedShard: (component: string, shard: number) => `wxkit:component:${component}:revoked:{s${shard}}`,
  shardOf: (appId: string) => createHash('sha1').update(appId).digest()[0]! % INDEX_SHARDS,
};

/** The platform needs compare-and-set and sets: the built-in stores have them, a custom one may not. */
export function requireIndexedStore(store: Store): IndexedStore {
  if (isIndexedStore(store)) return store;
  throw new WxkitError(
    ErrorCodes.CONFIG_ERROR,
    `The store ${store.description} lacks compareAndSet/addMembers/removeMembers/members, which the third-party platform needs`,
    {
      hint: {
        en: 'Use the memory, file or Redis store, or add these operations to your store (see wxkit/stores/testing).',
        zh: '请使用 memory、file 或 Redis 存储，或为自定义存储实现这些操作（见 wxkit/stores/testing）。',
      },
    },
  );
}
