// One instance for bench/ticket-heal.ts: holds the jsapi_ticket, then reports when it first holds
// another one (a heal made by another process), as epoch milliseconds.
import { createWxkit, type WxkitOptions } from '../src/wxkit.ts';

const wx = createWxkit(JSON.parse(process.env.WXKIT_WORKER_OPTIONS ?? '{}') as WxkitOptions);
const first = await wx.ticket();
process.send?.({ ready: true, ticket: first });
process.on('message', async (m: { cmd: string }) => {
  if (m.cmd !== 'watch') return;
  // What a busy instance does: sign a page every millisecond.
  for (;;) {
    const t = await wx.ticket();
    if (t !== first) {
      process.send?.({ seenAt: Date.now() });
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await wx.close();
  process.exit(0);
});
