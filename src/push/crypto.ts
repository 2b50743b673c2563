import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomPooled } from '../random.ts';
import { PushError } from './errors.ts';

/** Options of {@link createPushCrypto}. */
export interface PushCryptoOptions {
  /** The 43-character EncodingAESKey from the admin console (服务器配置). */
  encodingAESKey: string;
  /**
   * Who the messages are encrypted for, checked on every decryption: the Official Account's appId,
   * the WeCom corpId (a suite's suiteId), the third-party platform's component appId.
   */
  receiveId: string;
}

/** Options of {@link PushCrypto.encrypt}. */
export interface EncryptOptions {
  /** The 16 random bytes in front of the message (a string is taken as UTF-8). @default 16 random bytes */
  random?: Uint8Array | string | undefined;
}

/** What {@link PushCrypto.decrypt} found inside a ciphertext. */
export interface Decrypted {
  /** The message (XML or JSON text). */
  message: string;
  /** Who it was encrypted for (already checked against the configured receiveId). */
  receiveId: string;
}

/** WeChat's message encryption (WXBizMsgCrypt) for one key and one receiver. */
export interface PushCrypto {
  /** The receiveId messages are checked against. */
  readonly receiveId: string;
  /** Encrypts `text` for the receiver: base64 of AES-256-CBC(random ‖ length ‖ text ‖ receiveId), padded to 32 bytes. */
  encrypt(text: string, options?: EncryptOptions): string;
  /** Decrypts and checks an `Encrypt` value. @throws {PushError} naming what is wrong */
  decrypt(encrypt: string): Decrypted;
}

const BLOCK = 32;
const KEY_PATTERN = /^[A-Za-z0-9+/]{43}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * WeChat's push encryption (WXBizMsgCrypt) for Official Accounts, WeCom apps and third-party
 * platforms: AES-256-CBC with IV = the key's first 16 bytes and PKCS#7 padding to 32-byte blocks,
 * done by hand (Node's built-in padding is for 16-byte blocks and fails on pads 17–32 with
 * `ERR_OSSL_BAD_DECRYPT`). Every decryption checks the receiveId.
 *
 * @example
 * import { createPushCrypto } from 'wxkit/push'
 * const crypto = createPushCrypto({ encodingAESKey: process.env.WX_PUSH_AES_KEY!, receiveId: 'wx2c2769f8efd9abc2' })
 * const { message } = crypto.decrypt(encrypt) // '<xml><ToUserName>…'
 * const reply = crypto.encrypt('<xml>…</xml>')
 */
export function createPushCrypto(options: PushCryptoOptions): PushCrypto {
  const key = aesKey(options.encodingAESKey);
  const iv = key.subarray(0, 16);
  const receiveId = options.receiveId;
  if (typeof receiveId !== 'string') {
    throw new PushError('missing_parameter', 'createPushCrypto needs the receiveId (appId, corpId).');
  }
  const expectedId = Buffer.from(receiveId, 'utf8');
  return {
    receiveId,
    encrypt(text, opts = {}) {
      const random = randomPart(opts.random);
      const body = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length, 0);
      const plain = pad(Buffer.concat([random, length, body, expectedId]));
      const cipher = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
      return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
    },
    decrypt(encrypt) {
      const bytes = ciphertextBytes(encrypt);
      const decipher = createDecipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
      const plain = unpad(Buffer.concat([decipher.update(bytes), decipher.final()]));
      if (plain.length < 20)
        throw new PushError('bad_length', 'The plaintext is too short to hold a message.');
      const length = plain.readUInt32BE(16);
      if (20 + length > plain.length) {
        throw new PushError('bad_length', 'The message length inside the plaintext points past its end.');
      }
      const message = decodeUtf8(plain.subarray(20, 20 + length));
      checkReceiveId(plain.subarray(20 + length), expectedId);
      return { message, receiveId };
    },
  };
}

/**
 * The AES key from an EncodingAESKey: base64 of the 43 characters plus `=`, 32 bytes.
 *
 * Stops: a key with a stray character (a space, a `-` from URL-safe base64, a cut-off copy) that
 * Node's lenient base64 decoder would silently skip, leaving a key that decrypts nothing — the failure
 * would surface later as "bad padding" on every message instead of here, at start-up.
 */
function aesKey(encodingAESKey: string): Buffer {
  if (typeof encodingAESKey !== 'string' || !KEY_PATTERN.test(encodingAESKey)) {
    const length = typeof encodingAESKey === 'string' ? encodingAESKey.length : 0;
    throw new PushError(
      'bad_key',
      length === 43
        ? 'The EncodingAESKey has a character outside A–Z, a–z, 0–9, + and /.'
        : `The EncodingAESKey has ${length} characters; it must have 43.`,
    );
  }
  return Buffer.from(`${encodingAESKey}=`, 'base64');
}

function randomPart(given: Uint8Array | string | undefined): Buffer {
  if (given === undefined) return randomPooled(16);
  const bytes = typeof given === 'string' ? Buffer.from(given, 'utf8') : Buffer.from(given);
  if (bytes.length !== 16) throw new RangeError('encrypt(): `random` must be 16 bytes.');
  return bytes;
}

/** PKCS#7 to 32-byte blocks: 1–32 bytes, each holding the count. */
function pad(plain: Buffer): Buffer {
  const n = BLOCK - (plain.length % BLOCK);
  return Buffer.concat([plain, Buffer.alloc(n, n)]);
}

/**
 * Removes the padding after checking every pad byte.
 *
 * Stops: a ciphertext under another key (or damaged) being read as a message: its last byte is noise,
 * and a decryptor that trusts only that byte returns garbage or a wrong length instead of refusing.
 */
function unpad(plain: Buffer): Buffer {
  const n = plain[plain.length - 1] ?? 0;
  if (n < 1 || n > BLOCK || n > plain.length) {
    throw new PushError('bad_padding', `The padding is wrong (last byte ${n}, expected 1–32).`);
  }
  for (let i = plain.length - n; i < plain.length; i++) {
    if (plain[i] !== n)
      throw new PushError('bad_padding', 'The padding bytes are not all equal to their count.');
  }
  return plain.subarray(0, plain.length - n);
}

/**
 * Strict base64, a whole number of AES blocks.
 *
 * Stops: Node's lenient decoder turning a damaged value (spaces, URL-safe characters, a cut-off tail)
 * into fewer bytes and a confusing "bad decrypt" far from the cause.
 */
function ciphertextBytes(encrypt: string): Buffer {
  if (typeof encrypt !== 'string' || encrypt === '') {
    throw new PushError('truncated', 'The ciphertext is empty.');
  }
  if (!BASE64_PATTERN.test(encrypt)) {
    throw new PushError(
      'bad_base64',
      encrypt.length % 4 !== 0 && /^[A-Za-z0-9+/=]+$/.test(encrypt)
        ? 'The ciphertext is not whole base64 (its length is not a multiple of 4: cut off?).'
        : 'The ciphertext is not base64.',
    );
  }
  const bytes = Buffer.from(encrypt, 'base64');
  if (bytes.length === 0 || bytes.length % 16 !== 0) {
    throw new PushError(
      'truncated',
      `The ciphertext is ${bytes.length} bytes, not a whole number of AES blocks.`,
    );
  }
  return bytes;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (e) {
    throw new PushError('bad_utf8', 'The decrypted message is not UTF-8.', { cause: e });
  }
}

/**
 * Compares the receiveId at the end of the plaintext with the configured one.
 *
 * Stops: a message encrypted for another account that shares the EncodingAESKey (agencies reuse keys
 * across the accounts they run; old libraries such as wechat-crypto skip this check) being handled as
 * this account's — a user of account A triggering account B's handler.
 */
function checkReceiveId(found: Buffer, expected: Buffer): void {
  if (!found.equals(expected)) {
    throw new PushError('wrong_receive_id', 'The message was encrypted for another appId.');
  }
}
