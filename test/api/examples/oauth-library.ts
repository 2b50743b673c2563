// docs/oauth.md "The library": both blocks, with the user's consent on the simulated page in between.
const appId = process.env.WX_APP_ID!;
const secret = process.env.WX_APP_SECRET;
const state = 'st4te';

import { createWxkit } from 'wxkit'
const wx = createWxkit({ appId, secret, apiBase: process.env.WX_API_BASE, openBase: process.env.WX_OPEN_BASE })

const url = wx.oauth.authorizeUrl({ redirectUri: 'https://h5.example.com/cb', scope: 'snsapi_userinfo', state })

// The user presses 允许 on the simulated consent page: the browser posts the page's form.
const page = await (await fetch(url)).text();
const form = new URLSearchParams();
for (const m of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) form.set(m[1]!, m[2]!);
const chosen = /name="openid" id="user-0" value="([^"]+)"/.exec(page)?.[1] ?? '';
form.set('openid', chosen);
form.set('action', 'allow');
const back = await fetch(new URL('/connect/oauth2/authorize/confirm', url), { method: 'POST', body: form, redirect: 'manual' });
const callback = new URL(back.headers.get('location') ?? '');
const code = callback.searchParams.get('code') ?? '';

const token = await wx.oauth.exchangeCode(code)        // {accessToken, refreshToken, openid, scope, unionid?, isSnapshotUser, expiresAt}
const user = await wx.oauth.userinfo({ accessToken: token.accessToken, openid: token.openid, lang: 'en' })
const fresh = await wx.oauth.refresh(token.refreshToken) // 30 days
const valid = await wx.oauth.checkAccessToken({ accessToken: fresh.accessToken, openid: token.openid }) // /sns/auth

const again = await wx.oauth.exchangeCode(code);
export { again, callback, chosen, fresh, token, url, user, valid, wx };
