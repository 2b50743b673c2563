// docs/simulator.md "In your own tests", verbatim.
import assert from 'node:assert/strict';
import { startSimulator } from 'wxkit/simulator';
import { createWxkit } from 'wxkit';

const sim = await startSimulator({ apps: [{ appId: 'wxabc', secret: 's3cret', jsDomains: ['h5.example.com'] }] });
const wx = createWxkit({
  appId: 'wxabc', secret: 's3cret', apiBase: sim.url, openBase: sim.url, store: 'memory',
  now: () => sim.state.nowMs(),                      // wxkit's clock follows the virtual one
});
try {
  const config = await wx.jssdkConfig({ url: 'https://h5.example.com/page' });
  assert.equal(config.appId, 'wxabc');
  assert.equal(sim.state.currentTicket('wxabc'), await wx.ticket()); // the ticket WeChat verifies with
  sim.advance(7200);                                  // every token and ticket is now expired
  sim.setFaults({ path: '/cgi-bin/stable_token', errcode: -1, times: 2 }); // WeChat is busy twice
  console.log(sim.stats().calls);                    // how many upstream calls wxkit made
} finally {
  await wx.close();
  await sim.close();
}

export {};
