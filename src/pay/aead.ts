import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PayError, PayErrorReasons } from './errors.ts';

/**
 * AEAD_AES_256_GCM as WeChat Pay uses it for notification resources and platform certificates:
 * the 32-byte APIv3 key, a 12-character nonce, `associated_data`, and a base64 ciphertext whose last
 * 16 bytes are the GCM tag.
 */

/** The encrypted part of a notification (`resource`) or a certificate (`encrypt_certificate`). */
export interface AeadResource {
  algorithm?: string | undefined;
  ciphertext: string;
  nonce: string;
  /** May be absent or empty. */
  associated_data?: string | undefined;
}

const TAG_BYTES = 16;

/** Decrypts `resource` with the APIv3 key; a {@link PayError} `decrypt_failed` when the tag does not match. */
export function decryptAead(apiV3Key: Uint8Array, resource: AeadResource): Buffer {
  if (resource.algorithm !== undefined && resource.algorithm !== 'AEAD_AES_256_GCM') {
    throw new PayError(PayErrorReasons.DECRYPT_FAILED, `unsupported algorithm ${resource.algorithm}`);
  }
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length < TAG_BYTES) throw new PayError(PayErrorReasons.DECRYPT_FAILED, 'ciphertext too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', apiV3Key, Buffer.from(resource.nonce, 'utf8'));
    decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new PayError(
      PayErrorReasons.DECRYPT_FAILED,
      'the resource did not decrypt with the APIv3 key (wrong key or altered ciphertext)',
      { cause },
    );
  }
}

/** Encrypts `plaintext` the way WeChat Pay does (the simulator's side; tests). */
export function encryptAead(
  apiV3Key: Uint8Array,
  plaintext: string | Uint8Array,
  associatedData = '',
  nonce: string = randomBytes(9).toString('base64url').slice(0, 12),
): Required<AeadResource> {
  const cipher = createCipheriv('aes-256-gcm', apiV3Key, Buffer.from(nonce, 'utf8'));
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: 'AEAD_AES_256_GCM',
    ciphertext: body.toString('base64'),
    nonce,
    associated_data: associatedData,
  };
}
