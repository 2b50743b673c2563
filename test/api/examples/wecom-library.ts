// docs/wecom.md (and docs/zh-CN/wecom.md, README "WeCom pages"), verbatim from the import on: run by
// test/api/doc-blocks.test.ts against the simulator with WX_CORP_* set.
const pageUrl = process.env.EXAMPLE_WECOM_PAGE_URL as string;

import { createWecom } from 'wxkit';

const corp = createWecom({
  corpId: process.env.WX_CORP_ID!,
  agentId: process.env.WX_CORP_AGENT_ID!,
  secret: process.env.WX_CORP_SECRET!,
  apiBase: process.env.WX_WORK_API_BASE, // unset: https://qyapi.weixin.qq.com; the simulator: http://127.0.0.1:9100
  store: process.env.WXKIT_STORE, // e.g. 'redis://127.0.0.1:6379'; unset: memory
  jsDomains: ['work.example.com'], // the app's trusted domains (可信域名)
});
const config = await corp.jssdkConfig({ url: pageUrl, jsApiList: ['selectExternalContact'] }); // pass to wx.config
const agent = await corp.agentConfig({ url: pageUrl, jsApiList: ['selectExternalContact'] }); // pass to wx.agentConfig

export { agent, config, corp };
