import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { diagnoseCardSignature } from '../../src/card-diagnose.ts';
import { buildCardExt, buildChooseCardSign, cardSignature } from '../../src/cards.ts';
import { type Simulator, startSimulator } from '../../src/simulator/index.ts';

const CARD_TICKET = 'card-ticket-AAAA';
const JSAPI_TICKET = 'jsapi-ticket-BBBB';
const base = { timestamp: 1700000000, nonceStr: 'n0nce', cardId: 'pCard1' };
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('diagnoseCardSignature names the usual mistakes', () => {
  const choose = {
    kind: 'chooseCard' as const,
    apiTicket: CARD_TICKET,
    jsapiTicket: JSAPI_TICKET,
    appId: 'wx1',
    ...base,
    cardType: 'GROUPON',
  };

  test('a right cardSign is ok (case-insensitive hex)', () => {
    const { cardSign } = buildChooseCardSign({
      apiTicket: CARD_TICKET,
      appId: 'wx1',
      cardId: 'pCard1',
      cardType: 'GROUPON',
      timestamp: 1700000000,
      nonceStr: 'n0nce',
    });
    assert.equal(diagnoseCardSignature({ ...choose, signature: cardSign }).code, 'ok');
    assert.equal(diagnoseCardSignature({ ...choose, signature: cardSign.toUpperCase() }).ok, true);
  });

  test('key=value pairs instead of values', () => {
    const pairs =
      'api_ticket=card-ticket-AAAA&app_id=wx1&card_id=pCard1&card_type=GROUPON&nonce_str=n0nce&times_tamp=1700000000';
    const d = diagnoseCardSignature({ ...choose, signature: sha1(pairs) });
    assert.equal(d.code, 'card_key_value_pairs');
    assert.match(d.zh, /key=value/);
  });

  test('the jsapi_ticket instead of the wx_card ticket', () => {
    const wrong = cardSignature([JSAPI_TICKET, 'wx1', '1700000000', 'n0nce', 'pCard1', 'GROUPON']);
    assert.equal(diagnoseCardSignature({ ...choose, signature: wrong }).code, 'card_wrong_ticket');
  });

  test('values not sorted', () => {
    const unsorted = sha1(`${CARD_TICKET}wx11700000000n0ncepCard1GROUPON`);
    assert.equal(diagnoseCardSignature({ ...choose, signature: unsorted }).code, 'card_unsorted');
  });

  test('"undefined" signed for an empty value (addCard without code/openid)', () => {
    const add = { kind: 'addCard' as const, apiTicket: CARD_TICKET, ...base };
    const holes = cardSignature([CARD_TICKET, '1700000000', 'pCard1', 'undefined', 'undefined', 'n0nce']);
    assert.equal(diagnoseCardSignature({ ...add, signature: holes }).code, 'card_null_values');
    const right = JSON.parse(buildCardExt({ apiTicket: CARD_TICKET, ...base })).signature as string;
    assert.equal(diagnoseCardSignature({ ...add, signature: right }).code, 'ok');
  });

  test('anything else is a mismatch that lists the sorted values without the ticket', () => {
    const d = diagnoseCardSignature({ ...choose, signature: 'f'.repeat(40) });
    assert.equal(d.code, 'card_signature_mismatch');
    assert.ok(!d.en.includes(CARD_TICKET), 'the ticket is not printed');
    assert.deepEqual(d.sorted, ['1700000000', 'GROUPON', '<api_ticket>', 'n0nce', 'pCard1', 'wx1']);
  });
});

describe('wxkit doctor --card', () => {
  const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  let sim: Simulator;
  let cwd: string;
  before(async () => {
    sim = await startSimulator({ apps: ['wxcarddoctor00001:card-doctor-secret'] });
    cwd = mkdtempSync(join(tmpdir(), 'wxkit-card-doctor-'));
  });
  after(async () => {
    await sim.close();
    rmSync(cwd, { recursive: true, force: true });
  });
  const run = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const clean: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!/^(WX_|WXKIT_)/.test(k)) clean[k] = v;
      execFile(
        process.execPath,
        ['--import', tsx, bin, 'doctor', ...args],
        { cwd, env: { ...clean, ...env }, encoding: 'utf8', timeout: 30_000 },
        (error, stdout) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, out: stdout }),
      );
    });

  test('with the configured account: the wx_card ticket is fetched; the jsapi one is recognised as the mistake', async () => {
    const env = {
      WX_APP_ID: 'wxcarddoctor00001',
      WX_APP_SECRET: 'card-doctor-secret',
      WX_API_BASE: sim.url,
      WXKIT_STORE: 'memory',
    };
    const flags = [
      '--card',
      '--signature',
      '',
      '--noncestr',
      'n0nce',
      '--timestamp',
      '1700000000',
      '--card-id',
      'pCard1',
    ];
    // First find the tickets the simulator issues (the CLI fetches the same ones while they are valid).
    const probe = await run([...flags.slice(0, 2), 'x'.repeat(40), ...flags.slice(3)], env);
    assert.equal(probe.code, 1);
    const cardTicket = sim.state.currentTicket('wxcarddoctor00001', 'wx_card') as string;
    const jsapiTicket = sim.state.currentTicket('wxcarddoctor00001', 'jsapi') as string;
    assert.ok(cardTicket && jsapiTicket);
    const values = (t: string) => [t, 'wxcarddoctor00001', '1700000000', 'n0nce', 'pCard1'];
    const good = await run([...flags.slice(0, 2), cardSignature(values(cardTicket)), ...flags.slice(3)], env);
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /^OK \[ok\]/);
    const wrong = await run(
      [...flags.slice(0, 2), cardSignature(values(jsapiTicket)), ...flags.slice(3)],
      env,
    );
    assert.equal(wrong.code, 1);
    assert.match(wrong.out, /FAIL \[card_wrong_ticket\]/);
    assert.match(wrong.out, /错误 \[card_wrong_ticket\]/);
  });

  test('bad usage exits 2', async () => {
    assert.equal((await run(['--card', '--signature', 'x'])).code, 2);
    assert.equal(
      (await run(['--add-card', '--signature', 'x', '--noncestr', 'n', '--timestamp', '1', '--ticket', 't']))
        .code,
      2,
    );
  });
});
