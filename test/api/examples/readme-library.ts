// README.md "Use it as a library", verbatim from the import on (test/api/doc-blocks.test.ts checks that
// every code block of the docs appears in a file of this folder, and runs the files against the simulator).
const pageUrl = process.env.EXAMPLE_PAGE_URL as string;

import { createWxkit } from 'wxkit';

const wx = createWxkit({
  appId: process.env.WX_APP_ID!,
  secret: process.env.WX_APP_SECRET,
  apiBase: process.env.WX_API_BASE, // unset: https://api.weixin.qq.com; the simulator: http://127.0.0.1:9100
  store: process.env.WXKIT_STORE, // e.g. 'redis://127.0.0.1:6379'; unset: memory
  jsDomains: ['h5.example.com'],
});
const config = await wx.jssdkConfig({ url: pageUrl, jsApiList: ['chooseImage'] }); // pass to wx.config

export { config, wx };
