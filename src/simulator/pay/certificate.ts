import { type KeyObject, randomBytes, sign } from 'node:crypto';

/**
 * A self-signed X.509 certificate for the simulated platform key (平台证书), built in DER by hand
 * because node:crypto reads certificates but cannot make one. Just enough ASN.1 for WeChat Pay's
 * use: a serial, a validity, a subject, the RSA public key, signed SHA256withRSA.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);

function integer(bytes: Buffer): Buffer {
  return tlv(0x02, (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(epochSeconds: number): Buffer {
  const iso = new Date(epochSeconds * 1000).toISOString();
  return tlv(
    0x17,
    Buffer.from(
      `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`,
    ),
  );
}

function name(commonName: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

/** A certificate over `publicKey`, self-signed by `privateKey`, valid 5 years from `notBefore`. */
export function selfSignedCertificate(
  publicKey: KeyObject,
  privateKey: KeyObject,
  notBefore: number,
): { pem: string; serial: string } {
  const serialBytes = randomBytes(20);
  serialBytes[0] = ((serialBytes[0] as number) & 0x7f) | 0x10;
  const algorithm = seq(oid('1.2.840.113549.1.1.11'), tlv(0x05));
  const subject = name('Tenpay.com simulated platform certificate');
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serialBytes),
    algorithm,
    subject,
    seq(utcTime(notBefore), utcTime(notBefore + 5 * 365 * 86400)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`,
    serial: serialBytes.toString('hex').toUpperCase(),
  };
}
