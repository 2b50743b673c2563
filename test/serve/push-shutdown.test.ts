import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AES_KEY, TOKEN } from '../simulator/push-helpers.ts';
import { APP, startPushStack } from './push-helpers.ts';

/** A `wxkit serve` stopped while a late reply is on its way still delivers it (SPEC §11). */
test('close() waits for a late reply in flight: the user still gets the answer', async () => {
  const stack = await startPushStack();
  const { sim, receiver, service } = stack;
  try {
    await sim.configurePush({
      appId: APP,
      url: `${service.url}/wechat/push/${APP}`,
      token: TOKEN,
      encodingAESKey: AES_KEY,
      mode: 'safe',
    });
    receiver.mode = { delayMs: 6_000 };
    const user = sim.state.app(APP)?.users[0]?.openid as string;
    const record = await sim.push({
      appId: APP,
      message: { MsgType: 'text', Content: 'answer me', FromUserName: user },
    });
    assert.equal(record.result, 'no-reply'); // success at the deadline; the handler is still running
    await service.close(); // a deploy restarts the instance now
    assert.deepEqual(
      sim.pushLog({ user }).seen.map((s) => [s.via, s.content]),
      [['custom', 'echo: answer me']],
    );
  } finally {
    await stack.close();
  }
});
