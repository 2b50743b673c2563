import { randomBytes } from 'node:crypto';
import { isPayError } from '../pay/errors.ts';
import { payRouteOptions, readPaySettings } from '../serve/pay-config.ts';
import { type CliIO, parseFlags } from './io.ts';

export const payDoctorUsage = `wxkit doctor --pay [--notify-url U]
  Checks the WeChat Pay set-up of WXPAY_* against the gateway WXPAY_API_BASE points at: the merchant key
  and serial are accepted (a signed query), the WeChat Pay public key (or platform certificate) verifies the
  answer, the clock is within WeChat Pay's 5 minutes, and the notify URL (--notify-url, else WXPAY_NOTIFY_URL,
  else WXKIT_PUBLIC_URL/pay/notify) is reachable and refuses an unsigned notification and a SIGNTEST probe.
  用 WXPAY_* 对 WXPAY_API_BASE 指向的网关检查微信支付配置：商户私钥与序列号、微信支付公钥（或平台证书）、
  时钟（5 分钟内）、通知地址可达且拒绝未签名通知与 SIGNTEST 探测。`;

interface Check {
  ok: boolean;
  en: string;
  zh: string;
}

/** What a failed signed query says about the set-up. */
function gatewayCheck(e: unknown): Check {
  if (isPayError(e, 'SIGN_ERROR')) {
    const skew = Number(e.details?.skewSeconds);
    if (Number.isFinite(skew)) {
      return {
        ok: false,
        en: `clock: ${skew} s off WeChat Pay's (5 minutes allowed); synchronize it (NTP)`,
        zh: `时钟：与微信支付相差 ${skew} 秒（允许 5 分钟），请同步时钟（NTP）`,
      };
    }
    return {
      ok: false,
      en: `merchant key or serial refused: ${e.message} — check WXPAY_PRIVATE_KEY and WXPAY_SERIAL_NO`,
      zh: '商户私钥或证书序列号被拒绝：请检查 WXPAY_PRIVATE_KEY 与 WXPAY_SERIAL_NO',
    };
  }
  if (isPayError(e, 'unknown_serial')) {
    return {
      ok: false,
      en: 'the answer names a key wxkit does not have: check WXPAY_PUBLIC_KEY_ID',
      zh: '应答使用的公钥不在配置中：请检查 WXPAY_PUBLIC_KEY_ID',
    };
  }
  if (isPayError(e, 'signature_invalid')) {
    return {
      ok: false,
      en: 'the answer does not verify: WXPAY_PUBLIC_KEY is not the WeChat Pay public key of WXPAY_PUBLIC_KEY_ID',
      zh: '应答验签失败：WXPAY_PUBLIC_KEY 不是 WXPAY_PUBLIC_KEY_ID 对应的微信支付公钥',
    };
  }
  if (isPayError(e, 'timestamp_stale')) {
    return { ok: false, en: `clock: ${e.message}`, zh: '时钟：与微信支付相差超过 5 分钟，请同步时钟（NTP）' };
  }
  if (isPayError(e, 'decrypt_failed')) {
    return {
      ok: false,
      en: 'platform certificates do not decrypt: check WXPAY_API_V3_KEY',
      zh: '平台证书无法解密：请检查 WXPAY_API_V3_KEY',
    };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { ok: false, en: `gateway: ${message}`, zh: `网关：${message}` };
}

/** POSTs a notification the endpoint must refuse; `undefined` when it did. */
async function mustRefuse(
  url: string,
  headers: Record<string, string>,
  what: string,
): Promise<Check | undefined> {
  const body = JSON.stringify({ id: 'wxkit-doctor', event_type: 'TRANSACTION.SUCCESS', resource: {} });
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
      signal: AbortSignal.timeout(5_000),
      redirect: 'manual',
    });
    await res.arrayBuffer();
    if (res.status >= 200 && res.status < 300) {
      return {
        ok: false,
        en: `notify URL accepted ${what} (HTTP ${res.status}): it does not verify signatures`,
        zh: `通知地址接受了${what === 'an unsigned notification' ? '未签名的通知' : 'SIGNTEST 探测'}（HTTP ${res.status}）：它没有验签`,
      };
    }
    return undefined;
  } catch {
    return { ok: false, en: `notify URL ${url} is unreachable`, zh: `通知地址 ${url} 不可达` };
  }
}

/** `wxkit doctor --pay`. */
export async function runPayDoctor(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    pay: { type: 'boolean', default: false },
    'notify-url': { type: 'string' },
  });
  const checks: Check[] = [];
  let options: ReturnType<typeof payRouteOptions>;
  try {
    options = payRouteOptions(readPaySettings(io.env, io.cwd));
  } catch (e) {
    io.out(`✗ ${(e as Error).message} / 配置错误`);
    return 1;
  }
  if (!options) {
    io.out('✗ WXPAY_MCH_ID is not set: nothing to check / 未设置 WXPAY_MCH_ID');
    return 1;
  }
  try {
    await options.client.queryOrder(`WXKITDOCTOR${randomBytes(4).toString('hex')}`);
    checks.push({
      ok: true,
      en: 'gateway: answered (unexpectedly found the probe order)',
      zh: '网关：已应答',
    });
  } catch (e) {
    if (isPayError(e, 'ORDER_NOT_EXIST')) {
      checks.push({
        ok: true,
        en: 'merchant key, serial and clock accepted; the answer verified with the WeChat Pay key',
        zh: '商户私钥、序列号与时钟均被接受；应答已用微信支付公钥验证',
      });
    } else checks.push(gatewayCheck(e));
  }
  const publicUrl = io.env.WXKIT_PUBLIC_URL?.replace(/\/+$/, '');
  const notifyUrl =
    values['notify-url'] ?? options.notifyUrl ?? (publicUrl ? `${publicUrl}/pay/notify` : undefined);
  if (!notifyUrl) {
    checks.push({
      ok: false,
      en: 'no notify URL to check: pass --notify-url or set WXPAY_NOTIFY_URL',
      zh: '没有可检查的通知地址：请传 --notify-url 或设置 WXPAY_NOTIFY_URL',
    });
  } else {
    const ts = String(Math.floor(Date.now() / 1000));
    const signed = {
      'wechatpay-timestamp': ts,
      'wechatpay-nonce': randomBytes(16).toString('hex'),
      'wechatpay-serial': 'PUB_KEY_ID_WXKITDOCTOR',
    };
    const failed =
      (await mustRefuse(notifyUrl, {}, 'an unsigned notification')) ??
      (await mustRefuse(
        notifyUrl,
        { ...signed, 'wechatpay-signature': `WECHATPAY/SIGNTEST/${randomBytes(32).toString('base64')}` },
        'a SIGNTEST probe',
      ));
    checks.push(
      failed ?? {
        ok: true,
        en: `notify URL ${notifyUrl} reachable; refuses unsigned notifications and probes`,
        zh: `通知地址 ${notifyUrl} 可达，拒绝未签名通知与探测`,
      },
    );
  }
  for (const c of checks) io.out(`${c.ok ? '✓' : '✗'} ${c.en} / ${c.zh}`);
  return checks.every((c) => c.ok) ? 0 : 1;
}
