// README.md "Mount the service in your app": Hono.
import { Hono } from 'hono';
import { wx } from './readme-library.ts';

const app = new Hono();
app.get('/hello', (c) => c.json({ from: 'app' }));

// Hono
import { createHandler } from 'wxkit/http';
const handler = createHandler(wx, { basePath: '/wx' });
app.all('/wx/*', (c) => handler(c.req.raw));

export { app };
