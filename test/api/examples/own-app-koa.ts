// docs/simulator.md "From your own app": Koa, wxkit mounted under /wx with koa-mount, verbatim.
// test/browser/own-app.test.ts runs this file as a process and opens its page in Chromium.
import Koa from 'koa';
import mount from 'koa-mount';
import { createWxkit } from 'wxkit';
import { createKoaMiddleware } from 'wxkit/koa';

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

const app = new Koa();
app.use(mount('/wx', createKoaMiddleware(wx)));
app.use((ctx) => {
  if (ctx.path === '/') {
    ctx.type = 'html';
    ctx.body = page;
  }
});
app.listen(Number(process.env.PORT ?? 3000));
