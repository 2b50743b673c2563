import { startService } from '../../src/serve/service.ts';
import { startSimulator } from '../../src/simulator/index.ts';

const sim = await startSimulator({
  components: [
    {
      componentAppId: 'wxc0mp0nent0serve1',
      secret: 's',
      token: 't',
      encodingAESKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      authorizers: 2,
    },
  ],
});
const service = await startService({
  env: {
    HOST: '127.0.0.1',
    PORT: '0',
    WX_API_BASE: sim.url,
    WX_OPEN_BASE: sim.url,
    WXKIT_STORE: 'memory',
    WX_COMPONENT_APP_ID: 'wxc0mp0nent0serve1',
    WX_COMPONENT_SECRET: 's',
    WX_COMPONENT_TOKEN: 't',
    WX_COMPONENT_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
    WXKIT_LOG: 'all',
  },
  cwd: '/tmp',
  logLine: (l) => console.log('LOG', l.slice(0, 300)),
});
await fetch(`${sim.url}/__sim/platform/components`, {
  method: 'POST',
  body: JSON.stringify({ eventsUrl: `${service.url}/platform/events` }),
});
const r = await fetch(`${service.url}/platform/authorize`);
console.log(r.status, (await r.text()).slice(0, 600));
await service.close();
await sim.close();
