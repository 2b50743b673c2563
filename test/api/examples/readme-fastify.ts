// README.md "Mount the service in your app": Fastify.
import Fastify from 'fastify';
import { wx } from './readme-library.ts';

const app = Fastify();
app.get('/hello', async () => ({ from: 'app' }));

// Fastify (wxkit reads and size-limits the body itself inside its own plugin scope)
import { createFastifyPlugin } from 'wxkit/fastify';
await app.register(createFastifyPlugin(wx), { prefix: '/wx' });

export { app };
