// README.md "Use the simulator from your own app" and docs/simulator.md "From your own app": Express,
// verbatim. test/browser/own-app.test.ts runs this file as a process (PORT and WX_API_BASE set to free
// ports) and opens its page in Chromium: the page configures and the OAuth login comes back.
import express from 'express';
import { createWxkit } from 'wxkit';
import { createExpressMiddleware } from 'wxkit/express';

const wx = createWxkit({
  appId: 'wx5andb0x00000001', // the simulator's sandbox account
  secret: 'sandbox0secret0not0for0production',
  apiBase: process.env.WX_API_BASE ?? 'http://127.0.0.1:9100', // a loopback apiBase means the simulator
});
const page = `<!doctype html><meta charset="utf-8"><title>shop</title>
<script src="/wx/jssdk/client.js"></script>
<script>
  wxkit.configure({ endpoint: '/wx', jsApiList: ['chooseImage'] })
    .then(() => { document.title = 'JS-SDK ready'; }, (e) => { document.title = e.message; });
</script>
<a id="login" href="/wx/oauth/login?returnTo=/wx/oauth/me">WeChat login</a>`;

const app = express();
app.use('/wx', createExpressMiddleware(wx));
app.get('/', (_req, res) => {
  res.type('html').send(page);
});
app.listen(Number(process.env.PORT ?? 3000));
