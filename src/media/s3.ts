import { ErrorCodes, WxkitError } from '../errors.ts';
import { aliasName, checkPut, expired, MEDIA_ID, mediaUnavailable } from './id.ts';
import {
  DEFAULT_MEDIA_TTL_SECONDS,
  DEFAULT_SWEEP_LIMIT,
  type MediaStore,
  type MediaStoreOptions,
  type StoredMedia,
  type SweepResult,
} from './types.ts';

/** Options for {@link createS3MediaStore}. */
export interface S3MediaStoreOptions extends MediaStoreOptions {
  bucket: string;
  /** Key prefix, e.g. `wx/media` (no leading or trailing slash needed). @default '' */
  prefix?: string | undefined;
  /** The S3 API's base URL (`https://oss-cn-hangzhou.aliyuncs.com`, `http://127.0.0.1:9000`). @default https://s3.<region>.amazonaws.com */
  endpoint?: string | undefined;
  /** The signing region. @default 'us-east-1' */
  region?: string | undefined;
  /**
   * `virtual` (`https://bucket.endpoint/key`: AWS, Aliyun OSS, Tencent COS) or `path`
   * (`https://endpoint/bucket/key`: MinIO). @default 'path' for an IP address or localhost, else 'virtual'
   */
  style?: 'path' | 'virtual' | undefined;
  /** @default process.env.AWS_ACCESS_KEY_ID */
  accessKeyId?: string | undefined;
  /** @default process.env.AWS_SECRET_ACCESS_KEY */
  secretAccessKey?: string | undefined;
  /** @default process.env.AWS_SESSION_TOKEN */
  sessionToken?: string | undefined;
  /** How long a request may wait for the response headers, and a download for its next chunk. @default 10000 */
  requestTimeoutMs?: number | undefined;
}

/** The part of aws4fetch's `AwsClient` the store uses: it signs, wxkit sends (with its own signal). */
interface Signer {
  sign(input: string, init: RequestInit & { aws?: { signQuery?: boolean } }): Promise<Request>;
}

/** Object metadata: when the file was saved, by the saving instance's clock (ms). */
const SAVED_AT = 'x-amz-meta-wxkit-saved-at';
const SAFE_PREFIX = /^[A-Za-z0-9._\-/]*$/;
const SAFE_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Retries of a request S3 answered 5xx or 429 (what aws4fetch's own fetch did, bounded by the deadline). */
const RETRIES = 2;

/**
 * Saved media in any S3-compatible object store (AWS S3, Aliyun OSS, Tencent COS, MinIO), shared by
 * every instance: `<prefix>/<id>` is one object (its Content-Type is the file's type, so a save is one
 * atomic PUT), `<prefix>/by-server/<sha256(alias)>` an alias. Age is the object's Last-Modified (the
 * store's clock). Requests are signed (SigV4) by the `aws4fetch` package, an optional peer dependency;
 * reads stream the response body as the client reads it. Add a bucket lifecycle rule with the same
 * expiry as a backstop: the sweep only looks at `limit` objects per call.
 *
 * @example
 * const store = await createS3MediaStore({ bucket: 'photos', prefix: 'wx', region: 'ap-shanghai',
 *   endpoint: 'https://cos.ap-shanghai.myqcloud.com' });
 */
export async function createS3MediaStore(options: S3MediaStoreOptions): Promise<MediaStore> {
  const { bucket } = options;
  if (!SAFE_BUCKET.test(bucket)) throw badOption(`"${bucket.slice(0, 64)}" is not a valid bucket name`);
  const prefixRaw = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (!SAFE_PREFIX.test(prefixRaw)) throw badOption('the prefix may use letters, digits, . _ - and /');
  const prefix = prefixRaw === '' ? '' : `${prefixRaw}/`;
  const region = options.region ?? 'us-east-1';
  let endpoint: URL;
  try {
    endpoint = new URL(options.endpoint ?? `https://s3.${region}.amazonaws.com`);
  } catch {
    throw badOption('endpoint must be a URL such as https://s3.ap-east-1.amazonaws.com');
  }
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') {
    throw badOption('endpoint must be an http:// or https:// URL');
  }
  const host = endpoint.hostname;
  const style = options.style ?? (/^[\d.]+$|^\[|^localhost$/.test(host) ? 'path' : 'virtual');
  const base =
    style === 'path' ? `${endpoint.origin}/${bucket}/` : `${endpoint.protocol}//${bucket}.${endpoint.host}/`;
  const accessKeyId = options.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = options.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = options.sessionToken ?? process.env.AWS_SESSION_TOKEN;
  if (!accessKeyId || !secretAccessKey) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'The media store is s3:// but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set',
      {
        hint: {
          en: 'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to a key that may read, write, list and delete in the bucket.',
          zh: '请设置 AWS_ACCESS_KEY_ID 与 AWS_SECRET_ACCESS_KEY（该密钥需能读写、列出、删除桶内对象）。',
        },
      },
    );
  }
  const description = `s3://${bucket}/${prefixRaw}`;
  const ttlMs = (options.ttlSeconds ?? DEFAULT_MEDIA_TTL_SECONDS) * 1000;
  const now = options.now ?? Date.now;
  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const signer = await loadSigner({
    accessKeyId,
    secretAccessKey,
    ...(sessionToken ? { sessionToken } : {}),
    service: 's3',
    region,
  });

  const objectUrl = (key: string) => `${base}${key}`;
  const dataKey = (id: string) => `${prefix}${id}`;
  const aliasKey = (alias: string) => `${prefix}by-server/${aliasName(alias)}`;

  /**
   * One signed request, retried (twice, briefly) on 5xx and 429, all within `timeoutMs` until the
   * headers arrive. The signal goes to `fetch` itself: one carried on a signed `Request` is lost on
   * Node 20, and a black-holed store then held every media request for undici's 300 s.
   */
  const request = async (method: string, url: string, init: RequestInit = {}): Promise<Response> => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      for (let attempt = 0; ; attempt++) {
        const signed = await signer.sign(url, { ...init, method });
        const res = await fetch(signed.url, {
          method,
          headers: signed.headers,
          ...(init.body === undefined || init.body === null ? {} : { body: init.body }),
          signal: abort.signal,
        });
        if (attempt >= RETRIES || (res.status < 500 && res.status !== 429)) return res;
        await drop(res);
        await new Promise((r) => setTimeout(r, Math.random() * 100 * 2 ** attempt));
      }
    } catch (e) {
      const why = abort.signal.aborted ? `no answer in ${timeoutMs} ms` : networkCause(e);
      throw mediaUnavailable(
        `The media store ${description} cannot be reached at ${endpoint.host} (${why})`,
        e,
      );
    } finally {
      clearTimeout(timer);
    }
  };
  /** The S3 error behind a failed answer, as a clear error that never echoes a credential. */
  const failure = async (res: Response, action: string): Promise<WxkitError> => {
    const text = res.body ? (await res.text().catch(() => '')).slice(0, 2000) : '';
    const code = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    if (code === 'NoSuchBucket') {
      return mediaUnavailable(
        `Cannot ${action}: the bucket "${bucket}" does not exist at ${endpoint.host} (NoSuchBucket)`,
        undefined,
        {
          en: 'Create the bucket, or fix the bucket name, endpoint and region in WXKIT_MEDIA_STORE.',
          zh: '请创建该存储桶，或修正 WXKIT_MEDIA_STORE 中的桶名、endpoint 与 region。',
        },
      );
    }
    if (res.status === 403 || /AccessKey|Signature|AccessDenied|Credential|Token/.test(code)) {
      return mediaUnavailable(
        `Cannot ${action}: ${description} refused the credentials (${code})`,
        undefined,
        {
          en: 'Check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, the region, and that the key may read, write, list and delete in the bucket.',
          zh: '请检查 AWS_ACCESS_KEY_ID、AWS_SECRET_ACCESS_KEY 与 region，并确认该密钥能读写、列出、删除桶内对象。',
        },
      );
    }
    return mediaUnavailable(`Cannot ${action}: ${description} answered ${res.status} (${code})`);
  };

  const drop = async (res: Response) => {
    await res.body?.cancel().catch(() => {});
  };

  const fromHeaders = (id: string, res: Response): StoredMedia => ({
    id,
    contentType: res.headers.get('content-type') ?? 'application/octet-stream',
    size: Number(res.headers.get('content-length') ?? 0),
    savedAt: savedAtOf(res),
  });

  /** The saving instance's clock (metadata), else the store's Last-Modified. */
  const savedAtOf = (res: Response): number =>
    Number(res.headers.get(SAVED_AT)) || Date.parse(res.headers.get('last-modified') ?? '') || now();

  const remove = async (key: string) => {
    const res = await request('DELETE', objectUrl(key));
    if (!res.ok && res.status !== 404) throw await failure(res, 'delete a file');
    await drop(res);
  };

  const head = async (id: string): Promise<StoredMedia | undefined> => {
    if (!MEDIA_ID.test(id)) return undefined;
    const res = await request('HEAD', objectUrl(dataKey(id)));
    if (res.status === 404) return undefined;
    if (!res.ok) {
      // A HEAD answer has no body: ask again with a one-byte GET to learn the S3 error code.
      const detail = await request('GET', objectUrl(dataKey(id)), { headers: { range: 'bytes=0-0' } });
      throw await failure(detail.ok ? res : detail, 'read a file');
    }
    const media = fromHeaders(id, res);
    if (expired(media.savedAt, ttlMs, now())) {
      await remove(dataKey(id));
      return undefined;
    }
    return media;
  };

  const putOnce = async (id: string, bytes: Uint8Array, contentType: string): Promise<StoredMedia> => {
    const known = await head(id);
    if (known) return known;
    const headers: Record<string, string> = {
      'content-type': contentType,
      [SAVED_AT]: String(now()),
      // The id is the body's sha256: the store checks the bytes arrived whole.
      'x-amz-content-sha256': id,
      // Write-once where the store supports conditional writes (AWS, MinIO, R2); elsewhere the
      // HEAD above decides, and a concurrent first save writes the same bytes.
      'if-none-match': '*',
    };
    const body = new Uint8Array(bytes); // an ArrayBuffer-backed copy, as fetch's BodyInit wants
    let res = await request('PUT', objectUrl(dataKey(id)), { headers, body });
    if (res.status === 501) {
      await drop(res);
      const { 'if-none-match': _, ...plain } = headers;
      res = await request('PUT', objectUrl(dataKey(id)), { headers: plain, body });
    }
    if (!res.ok && res.status !== 412) throw await failure(res, 'save a file');
    await drop(res);
    return (await head(id)) ?? { id, contentType, size: bytes.length, savedAt: now() };
  };

  const saving = new Map<string, Promise<StoredMedia>>();
  let cursor: string | undefined;

  return {
    description,
    ttlMs,
    maxBytes: Number.POSITIVE_INFINITY,

    put(id, bytes, contentType) {
      try {
        checkPut(id, bytes, Number.POSITIVE_INFINITY, description);
      } catch (e) {
        return Promise.reject(e);
      }
      // One save per id at a time in this process: concurrent first saves share one HEAD + PUT.
      let job = saving.get(id);
      if (!job) {
        job = putOnce(id, bytes, contentType).finally(() => saving.delete(id));
        saving.set(id, job);
      }
      return job;
    },

    head,

    async open(id, opts = {}) {
      const onClose = opts.onClose ?? (() => {});
      let res: Response;
      try {
        if (!MEDIA_ID.test(id)) {
          onClose();
          return undefined;
        }
        res = await request('GET', objectUrl(dataKey(id)));
        if (res.status === 404) {
          await drop(res);
          onClose();
          return undefined;
        }
        if (!res.ok || !res.body) throw await failure(res, 'read a file');
      } catch (e) {
        onClose();
        throw e;
      }
      const media = fromHeaders(id, res);
      if (expired(media.savedAt, ttlMs, now())) {
        await drop(res);
        onClose();
        await remove(dataKey(id));
        return undefined;
      }
      const stalled = () =>
        mediaUnavailable(`The media store ${description} stopped sending ${id} (no data in ${timeoutMs} ms)`);
      return { media, body: passThrough(res.body, onClose, timeoutMs, stalled) };
    },

    async delete(id) {
      if (MEDIA_ID.test(id)) await remove(dataKey(id));
    },

    async sweep(opts = {}) {
      const limit = Math.min(1000, Math.max(1, opts.limit ?? DEFAULT_SWEEP_LIMIT));
      const query = new URLSearchParams({ 'list-type': '2', 'max-keys': String(limit) });
      if (prefix) query.set('prefix', prefix);
      // start-after (the last key seen), not continuation tokens: every S3-compatible store has it.
      if (cursor) query.set('start-after', cursor);
      const res = await request('GET', `${base}?${query}`);
      if (!res.ok) throw await failure(res, 'list files');
      const xml = await res.text();
      const result: SweepResult = { removed: [], aliases: 0, done: false };
      const at = now();
      let last: string | undefined;
      for (const m of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = unescapeXml(/<Key>([^<]*)<\/Key>/.exec(m[1] ?? '')?.[1] ?? '');
        last = key;
        const modified = Date.parse(/<LastModified>([^<]*)<\/LastModified>/.exec(m[1] ?? '')?.[1] ?? '');
        if (!key.startsWith(prefix) || Number.isNaN(modified) || !expired(modified, ttlMs, at)) continue;
        const rest = key.slice(prefix.length);
        const isMedia = MEDIA_ID.test(rest);
        if (!isMedia && !/^by-server\/[a-f0-9]{64}$/.test(rest)) continue;
        // A listing has no metadata: the save time is confirmed before removing (one HEAD per old object).
        const check = await request('HEAD', objectUrl(key));
        await drop(check);
        if (!check.ok || !expired(savedAtOf(check), ttlMs, at)) continue;
        await remove(key);
        if (isMedia) result.removed.push(rest);
        else result.aliases++;
      }
      const truncated = /<IsTruncated>true<\/IsTruncated>/.test(xml);
      cursor = truncated && last !== undefined ? last : undefined;
      result.done = cursor === undefined;
      return result;
    },

    async setAlias(alias, id) {
      const res = await request('PUT', objectUrl(aliasKey(alias)), {
        headers: { 'content-type': 'text/plain', [SAVED_AT]: String(now()) },
        body: id,
      });
      if (!res.ok) throw await failure(res, 'save a file');
      await drop(res);
    },

    async alias(alias) {
      const key = aliasKey(alias);
      const res = await request('GET', objectUrl(key));
      if (res.status === 404) {
        await drop(res);
        return undefined;
      }
      if (!res.ok) throw await failure(res, 'read a file');
      const savedAt = savedAtOf(res);
      const id = (await res.text()).trim();
      if (!MEDIA_ID.test(id)) return undefined;
      if (expired(savedAt, ttlMs, now())) {
        await remove(key);
        return undefined;
      }
      return id;
    },

    async signedUrl(media, opts) {
      const query = new URLSearchParams({
        'X-Amz-Expires': String(Math.max(1, Math.min(604_800, Math.floor(opts.expiresIn)))),
        'response-content-type': media.contentType,
        ...(opts.contentDisposition ? { 'response-content-disposition': opts.contentDisposition } : {}),
      });
      const signed = await signer.sign(`${objectUrl(dataKey(media.id))}?${query}`, {
        method: 'GET',
        aws: { signQuery: true },
      });
      return signed.url;
    },

    async ping() {
      // One key of the prefix: the bucket exists, the credentials may list it, and the store answers.
      const query = new URLSearchParams({ 'list-type': '2', 'max-keys': '1' });
      if (prefix) query.set('prefix', prefix);
      const res = await request('GET', `${base}?${query}`);
      if (!res.ok) throw await failure(res, 'list files');
      await drop(res);
    },

    async close() {},
  };
}

/**
 * The response body, pulled one chunk at a time as the consumer reads; `onClose` runs once at its end.
 * A read the store leaves unanswered for `idleMs` fails the body with `stalled()` and cancels the
 * response (closing its connection): a store that sends the headers and then nothing must not hold the
 * client's download slot, and a socket, for minutes.
 */
function passThrough(
  body: ReadableStream<Uint8Array>,
  onClose: () => void,
  idleMs: number,
  stalled: () => Error,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    onClose();
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: NodeJS.Timeout | undefined;
        try {
          const { done, value } = await Promise.race([
            reader.read(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(stalled()), idleMs);
            }),
          ]);
          if (done) {
            finish();
            controller.close();
          } else controller.enqueue(value);
        } catch (e) {
          finish();
          controller.error(e);
          await reader.cancel(e).catch(() => {});
        } finally {
          clearTimeout(timer);
        }
      },
      async cancel(reason) {
        finish();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

function networkCause(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  return e instanceof Error ? e.message : String(e);
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function badOption(message: string): WxkitError {
  return new WxkitError(ErrorCodes.CONFIG_ERROR, `WXKIT_MEDIA_STORE: ${message}`, {
    hint: {
      en: 'Use s3://BUCKET/PREFIX?endpoint=https://…&region=…',
      zh: '格式：s3://桶名/前缀?endpoint=https://…&region=…',
    },
  });
}

type AwsClientCtor = new (options: Record<string, unknown>) => Signer;

async function loadSigner(options: Record<string, unknown>): Promise<Signer> {
  let mod: { AwsClient?: unknown };
  try {
    mod = (await import('aws4fetch')) as typeof mod;
  } catch (cause) {
    throw new WxkitError(
      ErrorCodes.CONFIG_ERROR,
      'The media store is s3:// but the aws4fetch package (which signs the requests) is not installed',
      { cause, hint: { en: 'Run: npm install aws4fetch', zh: '请执行：npm install aws4fetch' } },
    );
  }
  const Ctor = mod.AwsClient as AwsClientCtor;
  return new Ctor(options);
}
