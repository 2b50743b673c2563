// `wxkit token` for WeCom apps: status lists the app's token and both tickets, refresh fetches a new
// token, --app-id takes the corpId; never a value.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createWecom } from '../../src/accounts/wecom.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';
import { runCli } from '../serve/spawn.ts';

const CORP = 'wwtoken000000001';
const AGENT = '1000002';
const SECRET = 'token-cli-wecom-secret';

let sim: Simulator;
let dir: string;
let env: Record<string, string>;
before(async () => {
  sim = await startSimulator({ corps: [{ corpId: CORP, agentId: AGENT, secret: SECRET }] });
  dir = mkdtempSync(join(tmpdir(), 'wxkit-token-wecom-'));
  env = {
    WX_CORP_ID: CORP,
    WX_CORP_AGENT_ID: AGENT,
    WX_CORP_SECRET: SECRET,
    WX_WORK_API_BASE: sim.url,
    WXKIT_STORE: `file:${join(dir, 'store')}`,
  };
  // Something cached, as a running wxkit serve would leave it.
  const corp = createWecom({
    corpId: CORP,
    agentId: AGENT,
    secret: SECRET,
    apiBase: sim.url,
    store: env.WXKIT_STORE,
  });
  await corp.agentConfig({ url: 'https://h5.example.com/' }).catch(() => corp.ticket('agent_config'));
  await corp.ticket('jsapi');
  await corp.close();
});
after(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

test('status shows the WeCom app with its token and both tickets, never a value', async () => {
  const r = await runCli(['token', 'status'], env, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${CORP} agent ${AGENT} \\(WeCom, store file:`, 'm'));
  for (const kind of ['access_token', 'jsapi_ticket', 'agent_config_ticket']) {
    assert.match(r.stdout, new RegExp(`${kind}\\s+cached`), r.stdout);
  }
  assert.ok(!r.stdout.includes(SECRET));
  const token = sim.state.wecom.currentAgentTicket(CORP, AGENT) as string;
  assert.ok(!r.stdout.includes(token), 'never a ticket');
});

test('refresh with --app-id <corpId> asks gettoken again; an unknown id is bad usage', async () => {
  sim.reset();
  const r = await runCli(['token', 'refresh', '--app-id', CORP], env, dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /refreshed/);
  assert.equal(sim.stats().calls['/cgi-bin/gettoken'], 1);
  const unknown = await runCli(['token', 'status', '--app-id', 'wwnope'], env, dir);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, new RegExp(CORP));
});
