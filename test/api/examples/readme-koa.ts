// README.md "Mount the service in your app": Koa.
import Koa from 'koa';
import { wx } from './readme-library.ts';

const app = new Koa();

// Koa
import { createKoaMiddleware } from 'wxkit/koa';
app.use(createKoaMiddleware(wx));

app.use((ctx) => {
  ctx.body = { from: 'app' };
});
export { app };
