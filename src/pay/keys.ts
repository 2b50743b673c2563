import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ErrorCodes } from '../errors.ts';
import { PayError, PayErrorReasons } from './errors.ts';

/**
 * Keys as merchants hold them: the merchant private key (`apiclient_key.pem`), the WeChat Pay public
 * key (`pub_key.pem`, named by a `PUB_KEY_ID_…`), or a KeyObject. Errors never quote the key.
 */

/** The merchant's RSA private key from PEM text or a KeyObject. */
export function loadPrivateKey(key: string | KeyObject, what = 'the merchant private key'): KeyObject {
  if (typeof key !== 'string') {
    if (key.type !== 'private') throw configError(`${what} is not a private key`);
    return key;
  }
  try {
    return createPrivateKey(key);
  } catch (cause) {
    throw configError(`${what} is not a PEM private key (apiclient_key.pem)`, cause);
  }
}

/** An RSA public key from PEM text (a public key or an X.509 certificate) or a KeyObject. */
export function loadPublicKey(key: string | KeyObject, what = 'the WeChat Pay public key'): KeyObject {
  if (typeof key !== 'string') return key.type === 'private' ? createPublicKey(key) : key;
  try {
    return createPublicKey(key);
  } catch (cause) {
    throw configError(`${what} is not a PEM public key or certificate`, cause);
  }
}

/** The APIv3 key as the 32 bytes AES-256-GCM needs. */
export function loadApiV3Key(key: string | Uint8Array): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length !== 32) {
    throw configError(
      `the APIv3 key must be 32 bytes (it has ${bytes.length}); copy it from the merchant platform`,
    );
  }
  return bytes;
}

function configError(message: string, cause?: unknown): PayError {
  return new PayError(PayErrorReasons.CONFIG, message, {
    code: ErrorCodes.CONFIG_ERROR,
    ...(cause === undefined ? {} : { cause }),
  });
}
