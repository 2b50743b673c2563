import { createHash } from 'node:crypto';
import { ErrorCodes, WxkitError } from './errors.ts';
import { createNonce, createTimestamp } from './signature.ts';

/**
 * Card (卡券) signatures: `cardSign` for `wx.chooseCard` and the `signature` inside `wx.addCard`'s
 * `cardExt`. Both are SHA1 over the **values** (not `key=value` pairs) sorted as strings in dictionary
 * order and concatenated, with empty values left out, signed with the `wx_card` ticket (api_ticket) —
 * not the jsapi_ticket. WeChat's JS-SDK docs, appendix 4 (卡券扩展字段及签名生成算法).
 */

/**
 * SHA1 (lowercase hex) over the values sorted as strings and concatenated; empty values are left out.
 *
 * @example
 * cardSignature([apiTicket, appId, '', String(timestamp), nonceStr, cardId, 'GROUPON'])
 */
export function cardSignature(values: readonly (string | number | undefined | null)[]): string {
  const parts = values
    .filter((v): v is string | number => v !== undefined && v !== null && v !== '')
    .map(String)
    .sort();
  return createHash('sha1').update(parts.join(''), 'utf8').digest('hex');
}

/**
 * WeChat's card types (`card_type` of `wx.chooseCard`, `card.card_type` of `/card/create`): 团购券,
 * 代金券, 折扣券, 兑换券, 优惠券, 会员卡, 景点门票, 电影票, 飞机票, 会议门票, 汽车票.
 */
export const CARD_TYPES: readonly string[] = [
  'GROUPON',
  'CASH',
  'DISCOUNT',
  'GIFT',
  'GENERAL_COUPON',
  'MEMBER_CARD',
  'SCENIC_TICKET',
  'MOVIE_TICKET',
  'BOARDING_PASS',
  'MEETING_TICKET',
  'BUS_TICKET',
];

/** What `wx.chooseCard` needs besides `shopId`/`cardType`/`cardId` (returned by {@link buildChooseCardSign}). */
export interface ChooseCardSign {
  timestamp: number;
  nonceStr: string;
  signType: 'SHA1';
  cardSign: string;
}

/** Input of an account's `chooseCardSign()`. */
export interface ChooseCardSignInput {
  /** Limit the list to one card. */
  cardId?: string | undefined;
  /** Limit the list to one type (`GROUPON`, `CASH`, `DISCOUNT`, `GIFT`, `GENERAL_COUPON`, …). */
  cardType?: string | undefined;
  /** The store (门店) id, `shopId` in `wx.chooseCard`. */
  locationId?: string | undefined;
}

/** Input of an account's `cardExt()`. */
export interface CardExtInput {
  cardId: string;
  /** The code, for cards created with `use_custom_code`. */
  code?: string | undefined;
  /** The only user who may take the card, for cards created with `bind_openid`. */
  openid?: string | undefined;
  /** Your own tag, returned in the card events (not signed). */
  outerStr?: string | undefined;
}

/** Pure form of {@link ChooseCardSignInput} with everything the signature covers. */
export interface BuildChooseCardSignInput extends ChooseCardSignInput {
  apiTicket: string;
  appId: string;
  timestamp?: number | undefined;
  nonceStr?: string | undefined;
}

/** Pure form of {@link CardExtInput} with everything the signature covers. */
export interface BuildCardExtInput extends CardExtInput {
  apiTicket: string;
  timestamp?: number | undefined;
  nonceStr?: string | undefined;
}

const CARD_VALUE = /^[\x21-\x7e]{1,128}$/;

function checkValue(name: string, value: string | undefined): void {
  if (value === undefined || value === '') return;
  if (typeof value !== 'string' || !CARD_VALUE.test(value)) {
    throw new WxkitError(ErrorCodes.INVALID_REQUEST, `${name} must be 1–128 printable ASCII characters.`, {
      hint: {
        en: `Pass ${name} as WeChat issued it (card ids look like pFS7Fjg8kV1IdDz01r4SQwMkuCKc).`,
        zh: `请按微信下发的原样传入 ${name}（卡券 id 形如 pFS7Fjg8kV1IdDz01r4SQwMkuCKc）。`,
      },
    });
  }
}

/**
 * `wx.chooseCard`'s signature: SHA1 over api_ticket, app_id, location_id, times_tamp, nonce_str,
 * card_id and card_type (values sorted, empty ones left out).
 */
export function buildChooseCardSign(input: BuildChooseCardSignInput): ChooseCardSign {
  checkValue('cardId', input.cardId);
  checkValue('cardType', input.cardType);
  checkValue('locationId', input.locationId);
  const timestamp = input.timestamp ?? createTimestamp();
  const nonceStr = input.nonceStr ?? createNonce();
  const cardSign = cardSignature([
    input.apiTicket,
    input.appId,
    input.locationId,
    String(timestamp),
    nonceStr,
    input.cardId,
    input.cardType,
  ]);
  return { timestamp, nonceStr, signType: 'SHA1', cardSign };
}

/**
 * `wx.addCard`'s `cardExt`, a JSON string `{code?, openid?, timestamp, nonce_str, outer_str?, signature}`
 * whose signature covers api_ticket, timestamp, card_id, code, openid and nonce_str.
 */
export function buildCardExt(input: BuildCardExtInput): string {
  checkValue('cardId', input.cardId);
  if (!input.cardId) throw new WxkitError(ErrorCodes.INVALID_REQUEST, 'cardId is required for cardExt.');
  checkValue('code', input.code);
  checkValue('openid', input.openid);
  const timestamp = input.timestamp ?? createTimestamp();
  const nonceStr = input.nonceStr ?? createNonce();
  const signature = cardSignature([
    input.apiTicket,
    String(timestamp),
    input.cardId,
    input.code,
    input.openid,
    nonceStr,
  ]);
  const ext: Record<string, string> = {};
  if (input.code) ext.code = input.code;
  if (input.openid) ext.openid = input.openid;
  ext.timestamp = String(timestamp);
  ext.nonce_str = nonceStr;
  if (input.outerStr !== undefined && input.outerStr !== '')
    ext.outer_str = String(input.outerStr).slice(0, 128);
  ext.signature = signature;
  return JSON.stringify(ext);
}
