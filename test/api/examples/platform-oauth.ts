// docs/platform.md "Web OAuth for an authorized account" (and its zh-CN twin), verbatim from `const wx`
// on: run by test/api/doc-blocks.test.ts against the simulated open platform. Before it, the user's
// browser: WeChat's consent page (snsapi_userinfo, component_appid) hands back the code.
import { createPlatform } from 'wxkit';

const platform = createPlatform({
  componentAppId: process.env.WX_COMPONENT_APP_ID!,
  componentSecret: process.env.WX_COMPONENT_SECRET!,
  token: process.env.WX_COMPONENT_TOKEN!,
  encodingAESKey: process.env.WX_COMPONENT_AES_KEY!,
  store: process.env.WXKIT_STORE!,
  apiBase: process.env.WX_API_BASE,
});
const authorizerAppId = process.env.EXAMPLE_AUTHORIZER_APP_ID as string;
const state = 'docs';
const consent = await fetch(`${process.env.WX_API_BASE}/connect/oauth2/authorize/confirm`, {
  method: 'POST',
  redirect: 'manual',
  body: new URLSearchParams({
    appid: authorizerAppId,
    redirect_uri: 'http://127.0.0.1/cb',
    response_type: 'code',
    scope: 'snsapi_userinfo',
    state,
    component_appid: process.env.WX_COMPONENT_APP_ID!,
    openid: process.env.EXAMPLE_OPENID!,
    action: 'allow',
  }),
});
const code = new URL(consent.headers.get('location') ?? '').searchParams.get('code') as string;

const wx = await platform.authorizer(authorizerAppId);
// 302 the browser here; WeChat comes back to redirectUri?code&state&appid
const link = wx.oauth.authorizeUrl({ redirectUri: 'https://shop.example.com/cb', scope: 'snsapi_userinfo', state });
const user = await wx.oauth.exchangeCode(code); // { openid, accessToken, refreshToken, scope, unionid? }
const profile = await wx.oauth.userinfo({ accessToken: user.accessToken, openid: user.openid });

export { link, platform, profile, user };
