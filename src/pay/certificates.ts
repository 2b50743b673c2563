import { type KeyObject, X509Certificate } from 'node:crypto';
import { ErrorCodes } from '../errors.ts';
import { type AeadResource, decryptAead } from './aead.ts';
import { PayError, PayErrorReasons } from './errors.ts';

/**
 * Platform certificates (平台证书) for merchants without a WeChat Pay public key: `GET /v3/certificates`
 * lists them, each encrypted with the APIv3 key. A certificate is trusted only when it decrypts under
 * the merchant's own key (which no third party has) and its serial matches the one listed.
 */

/** One platform certificate. */
export interface PlatformCertificate {
  /** Upper-case hex, as `Wechatpay-Serial` names it. */
  serial: string;
  publicKey: KeyObject;
  pem: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** Decrypts the `data[]` of a `/v3/certificates` answer. */
export function readCertificates(body: unknown, apiV3Key: Uint8Array): PlatformCertificate[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) {
    throw new PayError(PayErrorReasons.MALFORMED_RESPONSE, '/v3/certificates answered without data[]', {
      code: ErrorCodes.WECHAT_ERROR,
    });
  }
  return data.map((entry: { serial_no?: unknown; encrypt_certificate?: AeadResource }) => {
    if (typeof entry?.serial_no !== 'string' || typeof entry.encrypt_certificate?.ciphertext !== 'string') {
      throw new PayError(
        PayErrorReasons.MALFORMED_RESPONSE,
        'a certificate entry lacks serial_no or encrypt_certificate',
      );
    }
    const pem = decryptAead(apiV3Key, entry.encrypt_certificate).toString('utf8');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (cause) {
      throw new PayError(PayErrorReasons.MALFORMED_RESPONSE, 'a platform certificate is not X.509 PEM', {
        cause,
      });
    }
    const serial = entry.serial_no.toUpperCase();
    if (cert.serialNumber.toUpperCase() !== serial) {
      throw new PayError(
        PayErrorReasons.MALFORMED_RESPONSE,
        'a platform certificate does not carry its listed serial',
      );
    }
    return { serial, publicKey: cert.publicKey, pem, expiresAt: Date.parse(cert.validTo) };
  });
}
