import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CliIO } from '../../src/cli/io.ts';
import { main } from '../../src/cli/main.ts';
import { signJssdk } from '../../src/signature.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

/** `wxkit doctor --agent`: WeCom's wx.agentConfig against the app ticket, in English and Chinese. */

const APP_TICKET = 'kgt8ON7yVITDhtdwci0qeZA6m1GOHnmcXYVjjKexCuVnNCqTrrg6Nh9WZiw6tlSfgVrbT0dj7JxKCFxm1Ur3cQ';
const CORP_TICKET = 'HoagFKDcsGMVCIY2vOjf9jrGJnk0r7j94mS3NYL8Sw8oiq2lmDu3VdaEQ7xb7vV6PVgS4zw_cxsaN1WtkxdaDw';
const URL = 'https://work.example.com/tools/contact?id=7';
const NONCE = 'Wm3WZYTPz0wzccnW';
const TS = '1700000000';
const sig = (ticket: string, url = URL) => signJssdk({ ticket, nonceStr: NONCE, timestamp: TS, url });

function capture(env: NodeJS.ProcessEnv = {}, cwd = process.cwd()) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s), env, cwd };
  return { io: io as CliIO, out, err };
}

const base = ['doctor', '--agent', '--url', URL, '--noncestr', NONCE, '--timestamp', TS];

describe('wxkit doctor --agent', () => {
  test('signed with the app ticket → exit 0; agentid as a number or a string of digits', async () => {
    const c = capture();
    const code = await main(
      [...base, '--signature', sig(APP_TICKET), '--ticket', APP_TICKET, '--agent-id', '1000002'],
      c.io,
    );
    assert.equal(code, 0, c.err.join('\n'));
    assert.match(c.out[0] ?? '', /^OK \[ok\] wx\.agentConfig/);
    assert.match(c.out[1] ?? '', /^正确 \[ok\]/);
  });

  test('signed with the corp ticket (--corp-ticket) → wrong_ticket_kind, in both languages', async () => {
    const c = capture();
    const code = await main(
      [...base, '--signature', sig(CORP_TICKET), '--ticket', APP_TICKET, '--corp-ticket', CORP_TICKET],
      c.io,
    );
    assert.equal(code, 1);
    assert.match(c.out[0] ?? '', /^FAIL \[wrong_ticket_kind\] .*agent_config/);
    assert.match(c.out[1] ?? '', /^错误 \[wrong_ticket_kind\] .*企业的 jsapi_ticket/);
    assert.ok(!c.out.join('\n').includes(CORP_TICKET), 'the ticket is not printed');
    const unknown = capture();
    await main([...base, '--signature', sig(CORP_TICKET), '--ticket', APP_TICKET, '--json'], unknown.io);
    assert.equal(
      JSON.parse(unknown.out[0] ?? '{}').code,
      'unknown',
      'without the corp ticket it cannot tell',
    );
  });

  test('agentid_type, and the URL causes of wx.config', async () => {
    const c = capture();
    await main(
      [
        ...base,
        '--signature',
        sig(APP_TICKET),
        '--ticket',
        APP_TICKET,
        '--agent-id',
        'app-1000002',
        '--json',
      ],
      c.io,
    );
    assert.equal(JSON.parse(c.out[0] ?? '{}').code, 'agentid_type');
    const h = capture();
    await main(
      [
        'doctor',
        '--agent',
        '--url',
        `${URL}#/x`,
        '--noncestr',
        NONCE,
        '--timestamp',
        TS,
        '--ticket',
        APP_TICKET,
      ].concat(['--signature', sig(APP_TICKET, `${URL}#/x`), '--json']),
      h.io,
    );
    assert.equal(JSON.parse(h.out[0] ?? '{}').code, 'url_hash');
  });

  test('--help names --agent and --corp-ticket in English and Chinese', async () => {
    const c = capture();
    assert.equal(await main(['doctor', '--help'], c.io), 0);
    const text = [...c.out, ...c.err].join('\n');
    assert.match(text, /--agent/);
    assert.match(text, /--corp-ticket/);
    assert.match(text, /企业微信 wx\.agentConfig/);
  });

  test('without --ticket and without a WeCom app: exit 2, both languages', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wxkit-doctor-agent-'));
    try {
      const c = capture({}, dir);
      assert.equal(await main([...base, '--signature', sig(APP_TICKET)], c.io), 2);
      assert.match(c.err.join('\n'), /WX_CORP_ID.*企业微信/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('wxkit doctor --agent with the configured WeCom app', () => {
  const CORP = 'wwd0c70r0agent001';
  let sim: Simulator;
  let dir: string;
  before(async () => {
    sim = await startSimulator({
      corps: [{ corpId: CORP, agentId: 1000002, secret: 'doctor-agent-secret' }],
    });
    dir = mkdtempSync(join(tmpdir(), 'wxkit-doctor-agent-'));
  });
  after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('takes both tickets from the app: names the corp ticket used for agentConfig and corpid_mismatch', async () => {
    const env = {
      WX_CORP_ID: CORP,
      WX_CORP_AGENT_ID: '1000002',
      WX_CORP_SECRET: 'doctor-agent-secret',
      WX_WORK_API_BASE: sim.url,
      WXKIT_STORE: 'memory',
    };
    const tk = (await (
      await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${CORP}&corpsecret=doctor-agent-secret`)
    ).json()) as { access_token: string };
    await fetch(`${sim.url}/cgi-bin/get_jsapi_ticket?access_token=${tk.access_token}`);
    await fetch(`${sim.url}/cgi-bin/ticket/get?access_token=${tk.access_token}&type=agent_config`);
    const corpTicket = sim.state.currentCorpTicket(CORP) as string;
    const appTicket = sim.state.currentAgentTicket(CORP, 1000002) as string;
    const wrong = capture(env, dir);
    assert.equal(
      await main([...base, '--signature', sig(corpTicket), '--json'], wrong.io),
      1,
      wrong.err.join(),
    );
    assert.equal(JSON.parse(wrong.out[0] ?? '{}').code, 'wrong_ticket_kind');
    const right = capture(env, dir);
    assert.equal(await main([...base, '--signature', sig(appTicket), '--corp-id', CORP], right.io), 0);
    // The app ticket came from the store: said with its age and source, in both languages.
    assert.match(
      right.out.join('\n'),
      /ticket: agent_config_ticket fetched from WeChat just now .*source ticket\/get/,
    );
    assert.match(right.out.join('\n'), /票据：agent_config_ticket 刚从微信获取/);
    const other = capture(env, dir);
    await main(
      [...base, '--signature', sig(appTicket), '--corp-id', 'wwanothercorp0001', '--json'],
      other.io,
    );
    assert.equal(JSON.parse(other.out[0] ?? '{}').code, 'corpid_mismatch');
  });
});
