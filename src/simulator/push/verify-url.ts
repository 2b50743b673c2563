import { randomBytes } from 'node:crypto';
import { createPushCrypto, pushSignature, randomNonce } from '../../push/index.ts';
import type { PushEndpoint } from './state.ts';

/**
 * What WeChat does when a server URL is saved (服务器配置 → 提交): a GET with `signature`, `timestamp`,
 * `nonce` and `echostr`, answered with `echostr` verbatim; WeCom signs with `msg_signature` over the
 * four values and sends `echostr` encrypted — the server answers its plaintext. Anything else is
 * "Token验证失败" and the URL is not saved.
 */

/** Resolves with `undefined` when `url` passed, or the reason it failed. */
export async function verifyUrl(
  endpoint: PushEndpoint,
  url: string,
  timestamp: number,
): Promise<string | undefined> {
  const ts = String(timestamp);
  const nonce = randomNonce();
  const q = new URLSearchParams();
  const expected = randomBytes(8).readBigUInt64BE().toString();
  if (endpoint.kind === 'wecom') {
    const echostr = createPushCrypto({
      encodingAESKey: endpoint.encodingAESKey as string,
      receiveId: endpoint.appId,
    }).encrypt(expected);
    q.set('msg_signature', pushSignature(endpoint.token, ts, nonce, echostr));
    q.set('timestamp', ts);
    q.set('nonce', nonce);
    q.set('echostr', echostr);
  } else {
    q.set('signature', pushSignature(endpoint.token, ts, nonce));
    q.set('echostr', expected);
    q.set('timestamp', ts);
    q.set('nonce', nonce);
  }
  try {
    const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}${q}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(5_000),
    });
    const body = await res.text();
    if (res.status !== 200) return `the URL answered HTTP ${res.status}`;
    if (body !== expected)
      return `the URL answered ${JSON.stringify(body.slice(0, 60))}, not the echostr${endpoint.kind === 'wecom' ? ' plaintext' : ''}`;
    return undefined;
  } catch (e) {
    return (e as Error).name === 'TimeoutError'
      ? 'the URL did not answer within 5 s'
      : 'the URL cannot be reached';
  }
}
