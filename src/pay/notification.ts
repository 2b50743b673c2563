import { ErrorCodes } from '../errors.ts';
import { type AeadResource, decryptAead } from './aead.ts';
import { PayError, PayErrorReasons } from './errors.ts';

/**
 * A WeChat Pay notification's envelope and its decrypted resource. Parsing happens only after the
 * signature over the raw bytes held (see verify.ts); nothing here trusts the body on its own.
 */

/** A verified, decrypted notification. */
export interface PayNotification<R = Record<string, unknown>> {
  /** WeChat Pay's notification id (the same across its retries). */
  id: string;
  /** `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`… */
  eventType: string;
  createTime: string;
  resourceType: string;
  summary: string;
  /** The decrypted `resource` (a transaction or a refund, WeChat's field names). */
  resource: R;
}

function malformed(message: string): PayError {
  return new PayError(PayErrorReasons.MALFORMED_RESPONSE, message, { code: ErrorCodes.INVALID_REQUEST });
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** Parses a notification body (already verified) and decrypts its resource with the APIv3 key. */
export function openNotification(body: Uint8Array | string, apiV3Key: Uint8Array): PayNotification {
  let envelope: Record<string, unknown> | undefined;
  try {
    envelope = asObject(JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')));
  } catch {
    envelope = undefined;
  }
  const resource = asObject(envelope?.resource);
  if (
    !envelope ||
    !resource ||
    typeof resource.ciphertext !== 'string' ||
    typeof resource.nonce !== 'string'
  ) {
    throw malformed('the notification is not WeChat Pay JSON with an encrypted resource');
  }
  const plain = decryptAead(apiV3Key, resource as unknown as AeadResource);
  let decrypted: Record<string, unknown> | undefined;
  try {
    decrypted = asObject(JSON.parse(plain.toString('utf8')));
  } catch {
    decrypted = undefined;
  }
  if (!decrypted) throw malformed('the decrypted resource is not a JSON object');
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    id: text(envelope.id),
    eventType: text(envelope.event_type),
    createTime: text(envelope.create_time),
    resourceType: text(envelope.resource_type),
    summary: text(envelope.summary),
    resource: decrypted,
  };
}
