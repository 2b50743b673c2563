// README.md "Mount the service in your app": Express.
import express from 'express';
import { wx } from './readme-library.ts';

const app = express();

// Express — wxkit routes answer under /wx, everything else goes on to your routes
import { createExpressMiddleware } from 'wxkit/express';
app.use('/wx', createExpressMiddleware(wx)); // wx = createWxkit({...}) as above

app.get('/hello', (_req, res) => {
  res.json({ from: 'app' });
});
export { app };
