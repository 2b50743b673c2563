// docs/platform.md (and docs/zh-CN/platform.md), verbatim from the import on: run by
// test/api/doc-blocks.test.ts against the simulated open platform with WX_COMPONENT_* set.
const pageUrl = process.env.EXAMPLE_PLATFORM_PAGE_URL as string;
const authorizerAppId = process.env.EXAMPLE_AUTHORIZER_APP_ID as string;

import { createPlatform } from 'wxkit';

const platform = createPlatform({
  componentAppId: process.env.WX_COMPONENT_APP_ID!,
  componentSecret: process.env.WX_COMPONENT_SECRET!,
  token: process.env.WX_COMPONENT_TOKEN!, // 消息校验Token
  encodingAESKey: process.env.WX_COMPONENT_AES_KEY!, // 消息加解密Key
  store: process.env.WXKIT_STORE ?? 'file:.wxkit', // production: a persistent Redis (see below)
  apiBase: process.env.WX_API_BASE, // unset: https://api.weixin.qq.com; the simulator: http://127.0.0.1:9100
  jsDomains: ['shop.example.com'], // the platform's 公众号开发域名
});
// Your 授权事件接收URL (POST) answers with: await platform.handleEvents(request)
const wx = await platform.authorizer(authorizerAppId);
const config = await wx.jssdkConfig({ url: pageUrl, jsApiList: ['chooseImage'] }); // pass to wx.config

export { config, platform };
