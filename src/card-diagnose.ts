import { createHash } from 'node:crypto';
import { cardSignature } from './cards.ts';

/**
 * Why a card signature (`cardSign` of `wx.chooseCard`, `signature` in `wx.addCard`'s `cardExt`) is
 * refused: recomputes it the way WeChat does and the ways pages usually get it wrong, and names the
 * first match. Pure; `wxkit doctor --card` and tests call it.
 */

export type CardDiagnosisCode =
  | 'ok'
  | 'card_key_value_pairs'
  | 'card_wrong_ticket'
  | 'card_unsorted'
  | 'card_null_values'
  | 'card_signature_mismatch';

export interface CardDiagnoseInput {
  /** `chooseCard` (cardSign) or `addCard` (cardExt's signature). */
  kind: 'chooseCard' | 'addCard';
  /** The signature the page used. */
  signature: string;
  timestamp: string | number;
  nonceStr: string;
  /** The `wx_card` ticket (api_ticket) WeChat verifies with. */
  apiTicket: string;
  /** The account's jsapi_ticket, to recognise a signature made with the wrong ticket. */
  jsapiTicket?: string | undefined;
  /** chooseCard: the appId. */
  appId?: string | undefined;
  cardId?: string | undefined;
  /** chooseCard. */
  cardType?: string | undefined;
  /** chooseCard: shopId (location_id). */
  locationId?: string | undefined;
  /** addCard. */
  code?: string | undefined;
  /** addCard. */
  openid?: string | undefined;
}

export interface CardDiagnosis {
  ok: boolean;
  code: CardDiagnosisCode;
  en: string;
  zh: string;
  /** The values WeChat sorts and concatenates, in sorted order, with the ticket shown as `<api_ticket>`. */
  sorted: string[];
}

type Field = [name: string, value: string | undefined];

function fields(input: CardDiagnoseInput, ticket: string): Field[] {
  const ts = String(input.timestamp);
  return input.kind === 'chooseCard'
    ? [
        ['api_ticket', ticket],
        ['app_id', input.appId],
        ['location_id', input.locationId],
        ['times_tamp', ts],
        ['nonce_str', input.nonceStr],
        ['card_id', input.cardId],
        ['card_type', input.cardType],
      ]
    : [
        ['api_ticket', ticket],
        ['timestamp', ts],
        ['card_id', input.cardId],
        ['code', input.code],
        ['openid', input.openid],
        ['nonce_str', input.nonceStr],
      ];
}

const sha1 = (s: string) => createHash('sha1').update(s, 'utf8').digest('hex');
const present = (f: Field[]) => f.filter(([, v]) => v !== undefined && v !== '') as [string, string][];

/** The ways pages get a card signature wrong, each a way to recompute it. */
const MISTAKES: Array<{
  code: CardDiagnosisCode;
  sign: (input: CardDiagnoseInput) => string[];
  en: string;
  zh: string;
}> = [
  {
    code: 'card_key_value_pairs',
    sign: (i) => {
      const pairs = present(fields(i, i.apiTicket)).sort(([a], [b]) => (a < b ? -1 : 1));
      const joined = pairs.map(([k, v]) => `${k}=${v}`);
      return [sha1(joined.join('&')), sha1(joined.join(''))];
    },
    en: 'The signature was made over key=value pairs (like the wx.config signature). Card signatures sort and concatenate the values only.',
    zh: '签名是按 key=value 拼接计算的（像 wx.config 的签名）。卡券签名只对参数的值排序后直接拼接。',
  },
  {
    code: 'card_wrong_ticket',
    sign: (i) => (i.jsapiTicket ? [cardSignature(fields(i, i.jsapiTicket).map(([, v]) => v))] : []),
    en: 'The signature was made with the jsapi_ticket. Card signatures use the wx_card ticket (ticket/getticket?type=wx_card).',
    zh: '签名使用了 jsapi_ticket。卡券签名必须使用 wx_card 类型的 api_ticket（ticket/getticket?type=wx_card）。',
  },
  {
    code: 'card_unsorted',
    sign: (i) => [
      sha1(
        present(fields(i, i.apiTicket))
          .map(([, v]) => v)
          .join(''),
      ),
    ],
    en: 'The values were concatenated in parameter order. Sort them as strings (dictionary order) first.',
    zh: '参数值按参数顺序拼接了，没有排序。请先按字符串字典序排序再拼接。',
  },
  {
    code: 'card_null_values',
    sign: (i) => {
      const withHoles = fields(i, i.apiTicket).map(([, v]) =>
        v === undefined || v === '' ? 'undefined' : v,
      );
      const withNull = fields(i, i.apiTicket).map(([, v]) => (v === undefined || v === '' ? 'null' : v));
      return [cardSignature(withHoles), cardSignature(withNull)];
    },
    en: 'Missing values were signed as "undefined" or "null". Leave empty values out of the signature.',
    zh: '缺省的参数被当作 "undefined" 或 "null" 参与了签名。空值不应参与签名。',
  },
];

export function diagnoseCardSignature(input: CardDiagnoseInput): CardDiagnosis {
  const given = input.signature.trim().toLowerCase();
  const sorted = present(fields(input, input.apiTicket))
    .map(([name, v]) => (name === 'api_ticket' ? '<api_ticket>' : v))
    .sort((a, b) => {
      // Sort with the real ticket, show the placeholder.
      const real = (x: string) => (x === '<api_ticket>' ? input.apiTicket : x);
      return real(a) < real(b) ? -1 : real(a) > real(b) ? 1 : 0;
    });
  if (given === cardSignature(fields(input, input.apiTicket).map(([, v]) => v))) {
    return {
      ok: true,
      code: 'ok',
      en: 'The card signature is right for these values and the current wx_card ticket.',
      zh: '该卡券签名与这些参数及当前 wx_card 票据一致。',
      sorted,
    };
  }
  for (const m of MISTAKES) {
    if (m.sign(input).includes(given)) return { ok: false, code: m.code, en: m.en, zh: m.zh, sorted };
  }
  return {
    ok: false,
    code: 'card_signature_mismatch',
    en: `The signature matches none of the usual mistakes. Check each value (sorted: ${sorted.join(' | ')}) against what the page passed, and that the wx_card ticket is current.`,
    zh: `签名与常见错误均不匹配。请逐一核对参与签名的值（排序后：${sorted.join(' | ')}）与页面传入的是否一致，以及 wx_card 票据是否为当前有效的。`,
    sorted,
  };
}
