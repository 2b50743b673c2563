import { CARD_TYPES } from '../../cards.ts';
import { ErrorCodes, WxkitError } from '../../errors.ts';
import { officialAccount } from '../account-kind.ts';
import { invalidRequest, readAppId, readString } from '../params.ts';
import { json } from '../reply.ts';
import type { Route, RouteContext } from '../route.ts';
import { sessionUser } from './oauth.ts';

/**
 * Card (卡券) signatures for pages: `POST /jssdk/card-sign` → what `wx.chooseCard` needs,
 * `POST /jssdk/card-ext` → `{cardId, cardExt}` for `wx.addCard`. Only for the card ids the service is
 * configured with (`WXKIT_CARD_IDS`); signed with the account's `wx_card` ticket.
 *
 * These routes are anonymous, and WeChat's card signatures are SHA1 over values sorted and joined
 * *without a separator*, all under one ticket: a value a caller may choose freely can be cut and
 * shifted so that one signature's joined string equals another's (`cardType: "<any card id>"` signs
 * `wx.chooseCard({cardId})`; `shopId: "<a code>"` plus a nonce that sorts next to the appId signs a
 * `cardExt` with that code). So every value a page sends is one of a server-side list: card ids
 * listed for the account, WeChat's card types, configured shop ids, the logged-in user's openid.
 */

const NO_STORE = { 'cache-control': 'no-store' };

/** The card routes are off until card ids are configured. */
function cardsEnabled(ctx: RouteContext): void {
  if (ctx.options.cardIds.length === 0) {
    throw new WxkitError(ErrorCodes.NOT_FOUND, 'The card routes are off.', {
      hint: {
        en: 'Set WXKIT_CARD_IDS (or "cardIds" in wxkit.config.json) to the card ids pages may use.',
        zh: '请设置 WXKIT_CARD_IDS（或 wxkit.config.json 的 "cardIds"）为页面可用的卡券 id。',
      },
    });
  }
}

/** The card ids listed for this account: its own list when they were given per account, else the list. */
function listedCards(ctx: RouteContext, appId: string): readonly string[] {
  const byAccount = ctx.options.cardIdsByAccount;
  return byAccount === undefined ? ctx.options.cardIds : (byAccount[appId] ?? []);
}

/**
 * Stops any page from minting `cardExt` (and so handing out) cards the service was not set up for:
 * only card ids listed for the account are signed.
 */
function requireListedCard(ctx: RouteContext, appId: string, cardId: string): void {
  if (listedCards(ctx, appId).includes(cardId)) return;
  throw notListed(`Card ${JSON.stringify(cardId.slice(0, 64))}`, 'card_not_allowed', {
    en: 'Add the card id to WXKIT_CARD_IDS (or "cardIds" in wxkit.config.json).',
    zh: '请把该卡券 id 加入 WXKIT_CARD_IDS（或 wxkit.config.json 的 "cardIds"）。',
  });
}

/** 403: `what` is not on the list the service signs from. */
function notListed(what: string, reason: string, hint: { en: string; zh: string }): WxkitError {
  return new WxkitError(ErrorCodes.FORBIDDEN, `${what} is not one this service signs for.`, {
    hint,
    details: { reason },
  });
}

/**
 * Stops signature confusion through `cardType`: sent as free text, an unlisted card id in `cardType`
 * yields exactly the signature `wx.chooseCard({cardId: unlisted})` needs (same values, same join).
 * Only WeChat's own card types are signed.
 */
function requireCardType(cardType: string): void {
  if (CARD_TYPES.includes(cardType)) return;
  throw new WxkitError(ErrorCodes.INVALID_REQUEST, `cardType must be one of WeChat's card types.`, {
    hint: {
      en: `Send one of ${CARD_TYPES.join(', ')}, or leave cardType out.`,
      zh: `请传入 ${CARD_TYPES.join('、')} 之一，或不传 cardType。`,
    },
    details: { reason: 'card_type_unknown' },
  });
}

/**
 * Stops signature confusion through `shopId`: sent as free text, a chosen code or someone else's
 * openid in `shopId`, repeated until the nonce sorts next to the appId, yields a valid `cardExt` for
 * that code or openid. Only configured shop ids are signed.
 */
function requireListedShop(ctx: RouteContext, shopId: string): void {
  if (ctx.options.cardShopIds.includes(shopId)) return;
  throw notListed(`Shop ${JSON.stringify(shopId.slice(0, 64))}`, 'shop_not_allowed', {
    en: 'Add the shop (门店) id to WXKIT_CARD_SHOP_IDS (or "cardShopIds" in wxkit.config.json).',
    zh: '请把该门店 id 加入 WXKIT_CARD_SHOP_IDS（或 wxkit.config.json 的 "cardShopIds"）。',
  });
}

async function cardSign(ctx: RouteContext) {
  cardsEnabled(ctx);
  const body = await ctx.json();
  const cardId = readString(body.cardId, 'cardId', 128) || undefined;
  const cardType = readString(body.cardType, 'cardType', 64) || undefined;
  const locationId = readString(body.locationId ?? body.shopId, 'locationId', 64) || undefined;
  const account = officialAccount(ctx.account(readAppId(body.appId)), 'POST /jssdk/card-sign');
  if (cardId !== undefined) requireListedCard(ctx, account.appId, cardId);
  if (cardType !== undefined) requireCardType(cardType);
  if (locationId !== undefined) requireListedShop(ctx, locationId);
  const signed = await account.chooseCardSign({ cardId, cardType, locationId });
  return json(
    200,
    {
      ...(locationId ? { shopId: locationId } : {}),
      ...(cardType ? { cardType } : {}),
      ...(cardId ? { cardId } : {}),
      ...signed,
    },
    NO_STORE,
  );
}

async function cardExt(ctx: RouteContext) {
  cardsEnabled(ctx);
  const body = await ctx.json();
  const cardId = readString(body.cardId, 'cardId', 128);
  if (!cardId) throw invalidRequest('Send {"cardId": "<a card id of WXKIT_CARD_IDS>"}.');
  const account = officialAccount(ctx.account(readAppId(body.appId)), 'POST /jssdk/card-ext');
  requireListedCard(ctx, account.appId, cardId);
  if (body.code !== undefined) {
    // A page choosing the code would let anyone claim any code of a custom-code card.
    throw invalidRequest('A page cannot choose the card code.', {
      en: 'Build cardExt for custom-code cards on your server: wx.cardExt({ cardId, code }) from the library.',
      zh: '自定义 code 的卡券请在你的服务端用库的 wx.cardExt({ cardId, code }) 生成 cardExt。',
    });
  }
  const requestedOpenid = readString(body.openid, 'openid', 128) || undefined;
  let openid: string | undefined;
  if (requestedOpenid !== undefined || body.bindOpenid === true) {
    // A card bound to a user is signed for the logged-in user only, never for an openid a page names.
    const user = await sessionUser(ctx);
    if (!user) {
      throw new WxkitError(ErrorCodes.UNAUTHORIZED, 'A card bound to a user needs the user logged in.', {
        hint: {
          en: 'Log the user in first: GET /oauth/login?returnTo=/your/page.',
          zh: '请先让用户登录：GET /oauth/login?returnTo=/你的页面。',
        },
      });
    }
    if (requestedOpenid !== undefined && requestedOpenid !== user.openid) {
      throw new WxkitError(ErrorCodes.FORBIDDEN, 'openid is not the logged-in user’s.', {
        details: { reason: 'openid_mismatch' },
      });
    }
    openid = user.openid;
  }
  const outerStr = readString(body.outerStr, 'outerStr', 128) || undefined;
  const ext = await account.cardExt({ cardId, openid, outerStr });
  return json(200, { cardId, cardExt: ext }, NO_STORE);
}

export const routes: readonly Route[] = [
  { method: 'POST', path: '/jssdk/card-sign', handle: cardSign },
  { method: 'POST', path: '/jssdk/card-ext', handle: cardExt },
];
