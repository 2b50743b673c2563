// docs/wecom.md "WeCom OAuth" (and its zh-CN twin), verbatim from the account on: run by
// test/api/doc-blocks.test.ts against the simulator. `callbackUrl` is where the simulated WeCom sent
// the browser back (the test follows the redirect the way a browser would).
import { createWecom } from 'wxkit';

const corp = createWecom({
  corpId: process.env.WX_CORP_ID!,
  agentId: process.env.WX_CORP_AGENT_ID!,
  secret: process.env.WX_CORP_SECRET!,
  apiBase: process.env.WX_WORK_API_BASE,
  openBase: process.env.WX_OPEN_BASE, // unset: https://open.weixin.qq.com, or apiBase when that is the simulator
});

// 1. Send the browser to WeCom (no consent page inside WeCom for snsapi_base):
const url = corp.oauth.authorizeUrl({ redirectUri: 'https://work.example.com/cb', state: 'st4te' });

const callbackUrl = new URL(
  (await fetch(url, { redirect: 'manual' })).headers.get('location') as string,
);

// 2. In the callback, exchange the code once (a repeated callback gets the same answer):
const code = callbackUrl.searchParams.get('code')!;
const user = await corp.oauth.getUserInfo(code);
if ('userid' in user) console.log('member', user.userid);
else console.log('not a member', user.openid, user.external_userid);

export { corp, url, user };
