/** Why a payment failed, in the two languages wxkit's users read. */
export interface PayDiagnosis {
  /** `pay_directory`, `app_id_mismatch`, `order_paid`, `order_expired`, `order_closed`, `pay_sign`, `not_logged_in`, `order_not_found`, `unknown`. */
  reason: string;
  en: string;
  zh: string;
}

/** The directory WeChat checks: the page URL up to its last `/`, without query or hash. */
export function pageDirectory(pageUrl: string): string {
  try {
    const u = new URL(pageUrl);
    return u.origin + u.pathname.slice(0, u.pathname.lastIndexOf('/') + 1);
  } catch {
    return '(the page URL)';
  }
}

/**
 * Names the cause of a failed `chooseWXPay` from WeChat's errMsg (or the service's refusal of
 * `/pay/params`), with what to do in English and Chinese. Pure; `POST /pay/diagnose` serves it so the
 * browser helper stays small.
 *
 * @example
 * diagnosePayment('chooseWXPay:fail, 当前页面的URL未注册：http://h5.example.com/p/', 'http://h5.example.com/p/').reason // 'pay_directory'
 */
export function diagnosePayment(text: string, directory: string): PayDiagnosis {
  if (/当前页面的URL未注册|URL未注册/.test(text)) {
    return {
      reason: 'pay_directory',
      en: `The page is not under a registered pay directory: add ${directory} in the merchant platform (Product Center → Development settings → JSAPI pay directories); a directory must end in "/" and matches exactly, unless it is the top level of the domain.`,
      zh: `当前页面的URL未注册：请在商户平台「产品中心 → 开发配置 → JSAPI支付授权目录」添加 ${directory}（须以 / 结尾；除一级域名外须完全一致）。`,
    };
  }
  if (/appid|app_id_mismatch/i.test(text)) {
    return {
      reason: 'app_id_mismatch',
      en: "The order was made for another appId than the one of wx.config: create the order with the appId of the page's Official Account.",
      zh: '下单的 appId 与 wx.config 的 appId 不一致：请用当前页面公众号的 appId 下单。',
    };
  }
  if (/已支付|ORDERPAID|already paid/.test(text)) {
    return { reason: 'order_paid', en: 'The order is already paid.', zh: '该订单已支付，请勿重复支付。' };
  }
  if (/过期|expired/i.test(text)) {
    return {
      reason: 'order_expired',
      en: 'The order expired (a prepay_id lives 2 hours): create it again from the backend.',
      zh: '订单已过期（prepay_id 有效期 2 小时）：请由后端重新下单。',
    };
  }
  if (/关闭|ORDER_CLOSED/.test(text)) {
    return { reason: 'order_closed', en: 'The order is closed.', zh: '订单已关闭。' };
  }
  if (/签名/.test(text)) {
    return {
      reason: 'pay_sign',
      en: 'WeChat refused paySign: it must be signed with the merchant private key over appId, timeStamp, nonceStr and package.',
      zh: '支付验证签名失败：paySign 须用商户私钥对 appId、timeStamp、nonceStr、package 签名。',
    };
  }
  if (/not_logged_in|unauthorized|Log in/.test(text)) {
    return {
      reason: 'not_logged_in',
      en: 'Log in (OAuth) before paying.',
      zh: '请先登录（网页授权）再支付。',
    };
  }
  if (/order_not_found|No such order/.test(text)) {
    return {
      reason: 'order_not_found',
      en: 'No such order for the logged-in user: the backend must create it with this user’s openid.',
      zh: '当前登录用户没有该订单：后端须用该用户的 openid 下单。',
    };
  }
  return { reason: 'unknown', en: 'See errMsg.', zh: '请查看 errMsg。' };
}
