// docs/simulator.md "From your own app": Fastify, wxkit registered under the /wx prefix, verbatim.
// test/browser/own-app.test.ts runs this file as a process and opens its page in Chromium.
import Fastify from 'fastify';
import { createWxkit } from 'wxkit';
import { createFastifyPlugin } from 'wxkit/fastify';

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

const app = Fastify();
await app.register(createFastifyPlugin(wx), { prefix: '/wx' });
app.get('/', async (_req, reply) => reply.type('text/html').send(page));
await app.listen({ port: Number(process.env.PORT ?? 3000) });
