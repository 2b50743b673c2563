// docs/custody.md: the opening example, run from a temporary working directory (its file store is
// relative) with WX_APP_ID, WX_APP_SECRET and WX_API_BASE of a simulator account.
import { createWxkit } from 'wxkit';

const wx = createWxkit({
  appId: process.env.WX_APP_ID!,
  secret: process.env.WX_APP_SECRET,
  store: 'file:.wxkit',            // or 'memory', 'redis://host:6379', or a Store object
  jsDomains: ['h5.example.com'],
  apiBase: process.env.WX_API_BASE, // unset: WeChat's; the simulator's URL to try it offline
});
const config = await wx.jssdkConfig({ url: 'https://h5.example.com/page', jsApiList: ['chooseImage'] });

export { config, wx };
