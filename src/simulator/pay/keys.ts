import { generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';

/**
 * The simulated merchant's keys, made at start (never real ones): the merchant key pair and its
 * certificate serial, the WeChat Pay key pair with its `PUB_KEY_ID_…`, and the APIv3 key.
 * `GET /__sim/pay/keys` hands out what a merchant downloads from the merchant platform.
 */
export interface SimPayKeys {
  /** The merchant's private key (apiclient_key.pem) — the simulator keeps it only to hand it out. */
  merchantPrivateKey: KeyObject;
  /** What the merchant registered; the gateway verifies request signatures and paySign with it. */
  merchantPublicKey: KeyObject;
  /** 40 upper-case hex characters, as the merchant API certificate's serial. */
  merchantSerial: string;
  /** The WeChat Pay private key that signs answers and notifications. */
  wechatPrivateKey: KeyObject;
  wechatPublicKey: KeyObject;
  /** `PUB_KEY_ID_` followed by digits, as the merchant platform shows it. */
  publicKeyId: string;
  /** 32 characters. */
  apiV3Key: string;
}

function digits(n: number): string {
  let out = '';
  for (const b of randomBytes(n)) out += String(b % 10);
  return out;
}

/** A fresh set of test keys. RSA-2048, as WeChat Pay uses. */
export function makeSimPayKeys(): SimPayKeys {
  const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const wechat = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    merchantPrivateKey: merchant.privateKey,
    merchantPublicKey: merchant.publicKey,
    merchantSerial: randomBytes(20).toString('hex').toUpperCase(),
    wechatPrivateKey: wechat.privateKey,
    wechatPublicKey: wechat.publicKey,
    publicKeyId: `PUB_KEY_ID_01${digits(30)}`,
    apiV3Key: randomBytes(24).toString('base64url').slice(0, 32),
  };
}
