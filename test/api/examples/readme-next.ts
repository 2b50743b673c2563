// README.md "Mount the service in your app": a Next.js route module (app/wx/[...path]/route.ts).
import { wx } from './readme-library.ts';

// Next.js: app/wx/[...path]/route.ts
import { createHandler } from 'wxkit/http';
const handler = createHandler(wx, { basePath: '/wx' });
export { handler as GET, handler as POST, handler as OPTIONS };
