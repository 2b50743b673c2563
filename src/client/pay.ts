import type { ConfigureOptions, WxkitClientError, WxResult } from './types.ts';

/**
 * `wxkit.pay(outTradeNo)`: the `chooseWXPay` object of the logged-in user's order from the service
 * (`POST /pay/params`), then `wx.chooseWXPay`. A failure gets its diagnosis from the service
 * (`POST /pay/diagnose`), which keeps the bilingual texts out of every page's script.
 */

type Post = <T>(options: ConfigureOptions, path: string, body: unknown) => Promise<T>;
type Call = (api: string, args: object) => Promise<WxResult>;

async function rejected(o: ConfigureOptions, post: Post, code: string, e: WxkitClientError): Promise<never> {
  const errMsg = e.errMsg || e.message;
  const err = Object.assign(e, { code, step: 'chooseWXPay' });
  await post<{ en?: string }>(o, '/pay/diagnose', { errMsg, url: location.href }).then(
    (d) => {
      err.diagnosis = d;
      if (d.en) err.message += ` — ${d.en}`;
    },
    () => {},
  );
  throw err;
}

/** The body of `pay()`, with the helper's own request and call functions. */
export async function runPayment(
  outTradeNo: string,
  o: ConfigureOptions,
  post: Post,
  call: Call,
): Promise<'ok'> {
  const params = await post<object>(o, '/pay/params', { outTradeNo }).catch((e: WxkitClientError) =>
    rejected(o, post, 'fail', e),
  );
  // The service's object uses jweixin's names (`timestamp` lower case); the payment runs for wx.config's appId.
  try {
    await call('chooseWXPay', params);
  } catch (e) {
    const err = e as WxkitClientError;
    return rejected(o, post, /:cancel$/.test(err.errMsg || '') ? 'cancel' : 'fail', err);
  }
  return 'ok';
}
