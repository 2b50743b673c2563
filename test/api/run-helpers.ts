// Helpers of the tests that run the documented examples (examples.test.ts, doc-blocks.test.ts).
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JssdkConfig, normalizeSignUrl, signJssdk } from '../../src/signature.ts';
import type { Simulator } from '../../src/simulator/index.ts';

/** What the page's `wx.config` needs to pass: the signature WeChat recomputes with its current ticket. */
export function assertVerifies(sim: Simulator, appId: string, config: JssdkConfig, url: string): void {
  const ticket = sim.state.currentTicket(appId);
  assert.ok(ticket, 'the simulator issued a jsapi_ticket');
  assert.equal(config.appId, appId);
  assert.equal(
    config.signature,
    signJssdk({ ticket, nonceStr: config.nonceStr, timestamp: config.timestamp, url: normalizeSignUrl(url) }),
  );
}

/** Listens on a free loopback port; the server's base URL. */
export function listenNode(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** Closes the server and its keep-alive connections. */
export function closeNode(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
