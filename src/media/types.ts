/**
 * The media store contract: where `POST /jssdk/media` keeps the files it downloaded from WeChat and
 * `GET /jssdk/media/:id` reads them. Files are content-addressed (the id is the sha256 of the bytes)
 * and write-once (the first save of an id keeps its type). Every store forgets a file `ttlMs` after it
 * was saved. Implement it to add a backend; the repository runs one conformance suite against every store.
 *
 * @example
 * const store = await openMediaStore('s3://photos/wx?region=ap-shanghai');
 * const saved = await store.put(sha256(bytes), bytes, 'image/jpeg');
 * const opened = await store.open(saved.id); // opened.body streams as it is read
 */
export interface MediaStore {
  /** What the store is, for status and logs, without credentials: `file:/abs/dir`, `redis://host:6379`, `s3://bucket/prefix`. */
  readonly description: string;
  /** How long a file is kept after it was saved, in milliseconds (`WXKIT_MEDIA_TTL`). */
  readonly ttlMs: number;
  /** The largest file this store accepts, in bytes (Infinity when only the route's limit applies). */
  readonly maxBytes: number;
  /**
   * Saves the bytes under `id` (their sha256, checked) unless the id is already saved: write-once, the
   * first save keeps its type and age. All or nothing: a failed save leaves no readable file.
   *
   * @throws {WxkitError} `invalid_request` (id is not the bytes' sha256), `payload_too_large` (over
   * {@link MediaStore.maxBytes}), `store_unavailable` (the backend refused or cannot be reached).
   */
  put(id: string, bytes: Uint8Array, contentType: string): Promise<StoredMedia>;
  /** The file's metadata, or `undefined` when absent or older than the TTL (then it is removed). */
  head(id: string): Promise<StoredMedia | undefined>;
  /**
   * Opens a file for reading. The body is read from the backend as the consumer pulls (never the whole
   * file in memory); `onClose` runs once when it ends, fails or is cancelled. `undefined` as in {@link head}.
   */
  open(id: string, options?: OpenOptions): Promise<OpenedMedia | undefined>;
  /** Removes a file (no error when absent). */
  delete(id: string): Promise<void>;
  /**
   * Removes files (and aliases) older than the TTL, looking at no more than `limit` entries per call and
   * carrying on where the previous call stopped. `done` is true when a full pass ended with this call.
   */
  sweep(options?: SweepOptions): Promise<SweepResult>;
  /** Remembers that `alias` (e.g. an account's WeChat serverId) was saved as `id`; expires with the TTL. */
  setAlias(alias: string, id: string): Promise<void>;
  /** The id an alias was saved as, if remembered and not expired. */
  alias(alias: string): Promise<string | undefined>;
  /**
   * A short-lived URL the client can fetch the file from directly (object stores only), or `undefined`.
   * Stores that cannot sign leave it out.
   */
  signedUrl?(media: StoredMedia, options: SignedUrlOptions): Promise<string | undefined>;
  /**
   * Resolves when the store can save now (a file store writes a probe: a full disk fails it; Redis
   * answers PING; an object store lists one key). `/readyz` reports the media store with it. Stores
   * that leave it out count as ready.
   *
   * @throws {WxkitError} `store_unavailable`, saying why.
   */
  ping?(): Promise<void>;
  /** Releases connections and cursors. */
  close(): Promise<void>;
}

/** What is known about a saved file. */
export interface StoredMedia {
  /** sha256 of the bytes, 64 lowercase hex digits. */
  id: string;
  contentType: string;
  size: number;
  /** When it was saved, in milliseconds since the epoch (the backend's clock for object stores). */
  savedAt: number;
}

/** A saved file opened for reading. */
export interface OpenedMedia {
  media: StoredMedia;
  body: ReadableStream<Uint8Array>;
}

export interface OpenOptions {
  /** Runs once when the body ends, fails or is cancelled (or when the file turns out to be absent). */
  onClose?: (() => void) | undefined;
}

export interface SweepOptions {
  /** Entries looked at in this call. @default 1000 */
  limit?: number | undefined;
}

export interface SweepResult {
  /** Ids of the files removed. */
  removed: string[];
  /** Aliases removed. */
  aliases: number;
  /** True when this call reached the end of a full pass. */
  done: boolean;
}

export interface SignedUrlOptions {
  /** Lifetime of the URL in seconds. */
  expiresIn: number;
  /** `Content-Disposition` the object store should answer with. */
  contentDisposition?: string | undefined;
}

/** Options every built-in media store takes. */
export interface MediaStoreOptions {
  /** How long files are kept, in seconds. @default 2592000 (30 days) */
  ttlSeconds?: number | undefined;
  /** Clock in milliseconds (retention). @default Date.now */
  now?: (() => number) | undefined;
}

/** 30 days, `WXKIT_MEDIA_TTL`'s default. */
export const DEFAULT_MEDIA_TTL_SECONDS = 30 * 86_400;
/** Entries one sweep call looks at by default. */
export const DEFAULT_SWEEP_LIMIT = 1000;
/** Bytes read from the backend per pull: what one stalled response can hold in memory. */
export const MEDIA_CHUNK = 64 * 1024;
