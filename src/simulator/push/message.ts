import { createPushCrypto, pushSignature, randomNonce, writeXml } from '../../push/index.ts';
import type { PushEndpoint, PushFormat, PushMode } from './state.ts';

/**
 * What WeChat sends for one push: the message's fields completed as WeChat completes them, and the
 * HTTP request in the account's mode and format — plaintext, compatible (plaintext plus `Encrypt`) or
 * safe (`Encrypt` alone, `encrypt_type=aes&msg_signature` in the query); WeCom apps always safe XML
 * with `msg_signature` only.
 */

/** A message field: text, a number, or a nested element (`ScanCodeInfo`, `SendPicsInfo`…). */
export type PushFieldValue = string | number | { [name: string]: PushFieldValue };
export type PushFields = Record<string, PushFieldValue>;

/** The push as sent over HTTP. */
export interface PushRequest {
  /** Query string without the leading `?`. */
  query: string;
  body: string;
  contentType: string;
  /** `timestamp` and `nonce` of the query (a reply is checked against the same token). */
  timestamp: string;
  nonce: string;
}

function serialize(fields: PushFields, format: PushFormat): string {
  return format === 'json' ? JSON.stringify(fields) : writeXml(fields);
}

/**
 * The HTTP request for `fields` to `endpoint` at `timestamp` (the simulator's virtual clock). The same
 * request goes out on every try, as WeChat resends the message unchanged.
 */
export function pushRequest(
  endpoint: PushEndpoint,
  fields: PushFields,
  mode: PushMode,
  format: PushFormat,
  timestamp: number,
): PushRequest {
  const ts = String(timestamp);
  const n = randomNonce();
  const plaintext = serialize(fields, format);
  const contentType = format === 'json' ? 'application/json' : 'text/xml';
  const q = new URLSearchParams();
  if (endpoint.kind === 'wecom' || mode !== 'plain') {
    const crypto = createPushCrypto({
      encodingAESKey: endpoint.encodingAESKey as string,
      receiveId: endpoint.receiveId ?? endpoint.appId,
    });
    const encrypt = crypto.encrypt(plaintext);
    const msgSignature = pushSignature(endpoint.token, ts, n, encrypt);
    if (endpoint.kind === 'wecom') {
      q.set('msg_signature', msgSignature);
      q.set('timestamp', ts);
      q.set('nonce', n);
      const envelope = { ToUserName: endpoint.appId, AgentID: endpoint.agentId ?? '', Encrypt: encrypt };
      return { query: q.toString(), body: writeXml(envelope), contentType, timestamp: ts, nonce: n };
    }
    q.set('signature', pushSignature(endpoint.token, ts, n));
    q.set('timestamp', ts);
    q.set('nonce', n);
    if (typeof fields.FromUserName === 'string') q.set('openid', fields.FromUserName);
    q.set('encrypt_type', 'aes');
    q.set('msg_signature', msgSignature);
    const envelope: PushFields =
      mode === 'safe'
        ? { ToUserName: fields.ToUserName ?? '', Encrypt: encrypt }
        : { ...fields, Encrypt: encrypt };
    return { query: q.toString(), body: serialize(envelope, format), contentType, timestamp: ts, nonce: n };
  }
  q.set('signature', pushSignature(endpoint.token, ts, n));
  q.set('timestamp', ts);
  q.set('nonce', n);
  if (typeof fields.FromUserName === 'string') q.set('openid', fields.FromUserName);
  return { query: q.toString(), body: plaintext, contentType, timestamp: ts, nonce: n };
}

/** Flattens nested fields into the record's `message` (nested elements as JSON text). */
export function flatFields(fields: PushFields): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return out;
}
