import { randomInt } from 'node:crypto';
import { bodyFormat, field, type PushFormat, readBody } from './body.ts';
import type { EncryptOptions, PushCrypto } from './crypto.ts';
import { PushError } from './errors.ts';
import { checkSignature, pushSignature } from './signature.ts';
import { type QueryLike, queryParam } from './url-verification.ts';
import { writeXml } from './xml.ts';

/** What an encrypted envelope is sealed with. */
export interface SealOptions extends EncryptOptions {
  crypto: PushCrypto;
  token: string;
  /** @default 'xml' */
  format?: PushFormat | undefined;
  /** Seconds since the epoch, as a string. @default now */
  timestamp?: string | undefined;
  /** @default 10 random digits */
  nonce?: string | undefined;
}

/** What an encrypted envelope is opened with. */
export interface OpenOptions {
  crypto: PushCrypto;
  token: string;
}

/** A random nonce of digits, as WeChat sends them. */
export function randomNonce(): string {
  return String(randomInt(1_000_000_000, 10_000_000_000));
}

/**
 * An encrypted passive reply, `<xml><Encrypt/><MsgSignature/><TimeStamp/><Nonce/></xml>` (or the same
 * fields in JSON), signed over the reply's own timestamp and nonce.
 *
 * @example
 * import { sealReply } from 'wxkit/push'
 * const body = sealReply('<xml>…reply…</xml>', { crypto, token })
 */
export function sealReply(message: string, options: SealOptions): string {
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? randomNonce();
  const encrypt = options.crypto.encrypt(
    message,
    options.random === undefined ? {} : { random: options.random },
  );
  const signature = pushSignature(options.token, timestamp, nonce, encrypt);
  if (options.format === 'json') {
    return JSON.stringify({
      Encrypt: encrypt,
      MsgSignature: signature,
      TimeStamp: Number(timestamp),
      Nonce: nonce,
    });
  }
  return writeXml({ Encrypt: encrypt, MsgSignature: signature, TimeStamp: Number(timestamp), Nonce: nonce });
}

/** What {@link openReply} found. */
export interface OpenedReply {
  message: string;
  timestamp: string;
  nonce: string;
  format: PushFormat;
}

/**
 * Checks and decrypts an encrypted reply (what WeChat does with a safe-mode answer): its
 * `MsgSignature` over the token and the reply's `TimeStamp`, `Nonce` and `Encrypt`, then the
 * ciphertext and its receiveId.
 *
 * @throws {PushError} `missing_field`, `bad_signature`, or what decryption finds wrong
 */
export function openReply(body: string, options: OpenOptions): OpenedReply {
  const format = bodyFormat(body);
  const fields = readBody(body, format);
  const encrypt = requiredField(fields, 'Encrypt');
  const timestamp = requiredField(fields, 'TimeStamp');
  const nonce = requiredField(fields, 'Nonce');
  checkSignature(
    pushSignature(options.token, timestamp, nonce, encrypt),
    field(fields, 'MsgSignature'),
    'MsgSignature',
  );
  return { message: options.crypto.decrypt(encrypt).message, timestamp, nonce, format };
}

/** An encrypted push as WeChat sends it in safe mode: the body and the query parameters. */
export interface SealedPush {
  body: string;
  query: {
    signature: string;
    timestamp: string;
    nonce: string;
    encrypt_type: 'aes';
    msg_signature: string;
  };
}

/**
 * Encrypts a push as WeChat does in safe mode: `<xml><ToUserName/><Encrypt/></xml>` (or JSON), with
 * `msg_signature` over the Encrypt value and the three-field `signature` too. For simulators and tests.
 */
export function sealPush(message: string, options: SealOptions & { toUserName: string }): SealedPush {
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? randomNonce();
  const encrypt = options.crypto.encrypt(
    message,
    options.random === undefined ? {} : { random: options.random },
  );
  const fields = { ToUserName: options.toUserName, Encrypt: encrypt };
  return {
    body: options.format === 'json' ? JSON.stringify(fields) : writeXml(fields),
    query: {
      signature: pushSignature(options.token, timestamp, nonce),
      timestamp,
      nonce,
      encrypt_type: 'aes',
      msg_signature: pushSignature(options.token, timestamp, nonce, encrypt),
    },
  };
}

/** What {@link openPush} found. */
export interface OpenedPush {
  /** The decrypted message (XML or JSON text). */
  message: string;
  format: PushFormat;
}

/**
 * Checks and decrypts a safe-mode push: `msg_signature` (not the three-field `signature`, which does
 * not cover the body) over the token, `timestamp`, `nonce` and the body's `Encrypt`.
 *
 * @throws {PushError} `missing_parameter`, `missing_field`, `bad_signature`, or what decryption finds wrong
 */
export function openPush(body: string, query: QueryLike, options: OpenOptions): OpenedPush {
  const format = bodyFormat(body);
  const fields = readBody(body, format);
  const encrypt = requiredField(fields, 'Encrypt');
  const timestamp = queryParam(query, 'timestamp');
  const nonce = queryParam(query, 'nonce');
  if (!timestamp || !nonce) throw new PushError('missing_parameter', 'The query needs timestamp and nonce.');
  checkSignature(
    pushSignature(options.token, timestamp, nonce, encrypt),
    queryParam(query, 'msg_signature'),
    'msg_signature',
  );
  return { message: options.crypto.decrypt(encrypt).message, format };
}

function requiredField(fields: Record<string, unknown>, name: string): string {
  const v = field(fields, name);
  if (v === undefined || v === '') throw new PushError('missing_field', `The body has no ${name}.`);
  return v;
}
