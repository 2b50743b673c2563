import type { KeyObject } from 'node:crypto';
import { createMemoryStore } from '../stores/memory.ts';
import { openStore } from '../stores/spec.ts';
import type { Store } from '../stores/types.ts';
import type { PlatformCertificate } from './certificates.ts';
import { loadPublicKey } from './keys.ts';

/**
 * The keys wxkit trusts for one merchant: the configured WeChat Pay public key under its
 * `PUB_KEY_ID_…`, and platform certificates once fetched (kept in the store so that every process
 * shares one download). Only keys obtained this way ever verify anything.
 */

/** Platform certificates are re-read at most this often; WeChat rotates them with overlap. */
const CERT_TTL_MS = 12 * 3600_000;

interface StoredCert {
  serial: string;
  pem: string;
  expiresAt: number;
}

export class PayKeyring {
  private readonly certs = new Map<string, { key: KeyObject; expiresAt: number }>();
  private storePromise: Promise<Store> | undefined;

  constructor(
    private readonly mchId: string,
    private readonly publicKey: { id: string; key: KeyObject } | undefined,
    private readonly storeOption: Store | string | undefined,
    private readonly now: () => number,
  ) {}

  /** True when the merchant verifies with platform certificates (no public key configured). */
  get usesCertificates(): boolean {
    return this.publicKey === undefined;
  }

  private store(): Promise<Store> {
    this.storePromise ??=
      typeof this.storeOption === 'string'
        ? openStore(this.storeOption)
        : Promise.resolve(this.storeOption ?? createMemoryStore());
    return this.storePromise;
  }

  private get storeKey(): string {
    return `wxkit:pay:${this.mchId}:certificates`;
  }

  /** The key a serial names among those already trusted (memory, then the shared store). */
  async find(serial: string): Promise<KeyObject | undefined> {
    if (this.publicKey && serial === this.publicKey.id) return this.publicKey.key;
    if (!this.usesCertificates) return undefined;
    const upper = serial.toUpperCase();
    const mine = this.certs.get(upper);
    if (mine && mine.expiresAt > this.now()) return mine.key;
    try {
      const text = await (await this.store()).get(this.storeKey);
      if (text) this.remember(JSON.parse(text) as StoredCert[]);
    } catch {
      // The store is an optimization here: a fresh download still works without it.
    }
    const found = this.certs.get(upper);
    return found && found.expiresAt > this.now() ? found.key : undefined;
  }

  /** Adds freshly downloaded (and already decrypted) certificates, and shares them. */
  async add(certs: readonly PlatformCertificate[]): Promise<void> {
    const stored = certs.map((c) => ({ serial: c.serial, pem: c.pem, expiresAt: c.expiresAt }));
    this.remember(stored);
    try {
      await (await this.store()).set(this.storeKey, JSON.stringify(stored), CERT_TTL_MS);
    } catch {
      // see find()
    }
  }

  private remember(stored: readonly StoredCert[]): void {
    for (const c of stored) {
      if (typeof c?.serial !== 'string' || typeof c.pem !== 'string') continue;
      this.certs.set(c.serial.toUpperCase(), {
        key: loadPublicKey(c.pem, 'a platform certificate'),
        expiresAt: c.expiresAt,
      });
    }
  }
}
