// docs/push.md (and docs/zh-CN/push.md), verbatim from the imports on: run by test/api/doc-blocks.test.ts
// against the simulator (WX_APP_ID, WX_APP_SECRET, WX_API_BASE, WX_PUSH_TOKEN, WX_PUSH_AES_KEY set).
// `askModel` stands for a slow AI model: the test decides when it answers.
let answerNow = (_: string) => {};
async function askModel(question: string): Promise<string> {
  if (!question.startsWith('slow')) return `model: ${question}`;
  const answer = new Promise<string>((resolve) => {
    answerNow = resolve;
  });
  return answer;
}
export const model = { answer: (text: string) => answerNow(text) };

import express from 'express';
import { createWxkit } from 'wxkit';
import { createExpressMiddleware } from 'wxkit/express';
import { createPushHandler, reply } from 'wxkit/push';
import { openStore } from 'wxkit/stores';

const account = createWxkit({
  appId: process.env.WX_APP_ID!,
  secret: process.env.WX_APP_SECRET!,
  apiBase: process.env.WX_API_BASE, // unset: https://api.weixin.qq.com; the simulator: http://127.0.0.1:9100
});
const push = createPushHandler({
  account,
  token: process.env.WX_PUSH_TOKEN!, // 服务器配置 → Token
  encodingAESKey: process.env.WX_PUSH_AES_KEY, // 服务器配置 → EncodingAESKey (safe or compatible mode)
  store: await openStore(process.env.WXKIT_STORE ?? 'memory'), // 'redis://…' when several machines serve the URL
  async onMessage(message) {
    switch (message.type) {
      case 'text':
        // However long the model takes: after 4.5 s WeChat gets `success`, the user gets this through custom/send.
        return reply.text(await askModel(message.Content));
      case 'event.subscribe':
        return reply.text('欢迎关注！Welcome!');
      case 'event.CLICK':
        return message.EventKey === 'NEWS'
          ? reply.news([{ title: 'wxkit', description: 'JS-SDK done right', url: 'https://example.com/news' }])
          : undefined; // nothing: WeChat is answered `success`
    }
  },
});

const app = express();
app.use('/wechat/push', createExpressMiddleware(push)); // before express.json(): the handler reads its own body
app.use(express.json());

export { account, app, push };
