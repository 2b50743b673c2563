import { randomBytes } from 'node:crypto';
import { createPushCrypto, PushError, randomNonce } from '../push/index.ts';
import { pushRequest } from '../simulator/push/message.ts';
import { judgeReply } from '../simulator/push/reply.ts';
import { originalIdOf, PUSH_LIMITS, type PushEndpoint } from '../simulator/push/state.ts';
import { verifyUrl } from '../simulator/push/verify-url.ts';
import { type CliIO, parseFlags, required, UsageError } from './io.ts';

export const pushDoctorUsage = `wxkit doctor --push URL --token T [--aes-key K --app-id A] [--wecom] [--json]
  Checks a live server URL (服务器配置) as WeChat would: the URL verification (echostr), that a wrong
  signature is refused, one message round trip — encrypted with --aes-key (safe mode; --app-id is the
  appId, or the corpId with --wecom) — the reply's signature and shape, and its time against WeChat's 5 s.
  The test message comes from the user "wxkit-doctor". Exit 0 when every check passes, 1 when one fails.
  像微信一样检查线上的服务器 URL：URL 验证（echostr）、错误签名是否被拒绝、一次消息往返（带 --aes-key 时
  为安全模式加密；--app-id 为 appId，--wecom 时为 corpId）、回复的签名与格式，以及回复耗时是否在 5 秒内。
  测试消息的发送者为 "wxkit-doctor"。全部通过退出 0，有一项失败退出 1。`;

interface Check {
  code: string;
  ok: boolean;
  en: string;
  zh: string;
}

/** The user the doctor's test message comes from: handlers can recognise and ignore it. */
export const DOCTOR_USER = 'wxkit-doctor';

async function forgedIsRefused(endpoint: PushEndpoint, url: string): Promise<Check> {
  const q = new URLSearchParams({
    timestamp: String(Math.floor(Date.now() / 1000)),
    nonce: randomNonce(),
    echostr: 'wxkit-doctor-forged',
  });
  q.set(endpoint.kind === 'wecom' ? 'msg_signature' : 'signature', '0'.repeat(40));
  try {
    const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}${q}`, {
      redirect: 'manual',
      signal: AbortSignal.timeout(PUSH_LIMITS.deadlineMs),
    });
    const body = await res.text();
    if (body.includes('wxkit-doctor-forged')) {
      return {
        code: 'push_signature_unchecked',
        ok: false,
        en: 'the server answered the echostr of a request with a wrong signature: it does not check signatures, anyone can post messages to it',
        zh: '签名错误的请求也得到了 echostr：服务器没有校验签名，任何人都能向它伪造消息',
      };
    }
    return {
      code: 'push_signature_checked',
      ok: true,
      en: `a wrong signature is refused (HTTP ${res.status})`,
      zh: `错误签名被拒绝（HTTP ${res.status}）`,
    };
  } catch {
    return {
      code: 'push_unreachable',
      ok: false,
      en: 'the URL did not answer the forged-signature check',
      zh: '伪造签名检查时 URL 无响应',
    };
  }
}

async function roundTrip(endpoint: PushEndpoint, url: string): Promise<Check[]> {
  const mode = endpoint.encodingAESKey === undefined ? 'plain' : 'safe';
  const fields = {
    ToUserName: endpoint.toUserName,
    FromUserName: DOCTOR_USER,
    CreateTime: Math.floor(Date.now() / 1000),
    MsgType: 'text',
    Content: 'wxkit doctor',
    MsgId: randomBytes(8).readBigUInt64BE().toString().slice(0, 19),
    ...(endpoint.kind === 'wecom' ? { AgentID: endpoint.agentId ?? '' } : {}),
  };
  const req = pushRequest(endpoint, fields, mode, 'xml', fields.CreateTime);
  const started = performance.now();
  let status: number;
  let body: string;
  try {
    const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}${req.query}`, {
      method: 'POST',
      headers: { 'content-type': req.contentType },
      body: req.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(15_000),
    });
    status = res.status;
    body = await res.text();
  } catch {
    return [
      {
        code: 'push_no_answer',
        ok: false,
        en: 'the test message got no answer within 15 s',
        zh: '测试消息 15 秒内无响应',
      },
    ];
  }
  const ms = Math.round(performance.now() - started);
  const checks: Check[] = [];
  const late = ms > PUSH_LIMITS.deadlineMs;
  checks.push({
    code: late ? 'push_reply_late' : 'push_reply_time',
    ok: !late,
    en: late
      ? `the reply took ${ms} ms: WeChat gives up after 5,000 ms, tries again and shows the user "该公众号暂时无法提供服务"`
      : `answered in ${ms} ms (WeChat waits 5,000 ms)`,
    zh: late
      ? `回复耗时 ${ms} 毫秒：微信 5 秒后放弃并重试，用户会看到“该公众号暂时无法提供服务”`
      : `${ms} 毫秒内回复（微信等待 5 秒）`,
  });
  if (status < 200 || status > 299) {
    checks.push({
      code: 'push_reply_status',
      ok: false,
      en: `the ${mode}-mode test message was answered HTTP ${status}${mode === 'safe' ? ' (check --aes-key and --app-id)' : ''}`,
      zh: `${mode === 'safe' ? '安全模式' : '明文模式'}测试消息得到 HTTP ${status}${mode === 'safe' ? '（请检查 --aes-key 与 --app-id）' : ''}`,
    });
    return checks;
  }
  const verdict = judgeReply(body, endpoint, mode, 'xml', DOCTOR_USER);
  if (verdict.kind === 'bad') {
    checks.push({
      code: 'push_reply_bad',
      ok: false,
      en: `WeChat would refuse the reply and show the user "该公众号暂时无法提供服务": ${verdict.problem}`,
      zh: `微信会拒绝该回复并向用户显示“该公众号暂时无法提供服务”：${verdict.problem}`,
    });
  } else {
    checks.push({
      code: 'push_round_trip',
      ok: true,
      en:
        verdict.kind === 'none'
          ? `${mode}-mode message accepted; the server answered success (no reply)`
          : `${mode}-mode message accepted; the ${verdict.msgType} reply is ${mode === 'safe' ? 'signed and decrypts correctly' : 'well-formed'}`,
      zh:
        verdict.kind === 'none'
          ? `${mode === 'safe' ? '安全模式' : '明文模式'}消息已接收；服务器回复 success（不回复）`
          : `${mode === 'safe' ? '安全模式' : '明文模式'}消息已接收；${verdict.msgType} 回复${mode === 'safe' ? '签名正确、可解密' : '格式正确'}`,
    });
  }
  return checks;
}

/** `wxkit doctor --push URL --token T [--aes-key K --app-id A] [--wecom]`. */
export async function runPushDoctor(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseFlags(argv, {
    push: { type: 'string' },
    token: { type: 'string' },
    'aes-key': { type: 'string' },
    'app-id': { type: 'string' },
    'agent-id': { type: 'string' },
    wecom: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const url = required(values.push, 'push');
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError('scheme');
  } catch {
    throw new UsageError('--push must be the http(s) server URL', '--push 必须是 http(s) 服务器 URL');
  }
  const token = required(values.token, 'token');
  const key = values['aes-key'];
  const appId = values['app-id'];
  if (values.wecom && key === undefined)
    throw new UsageError(
      '--wecom needs --aes-key (WeCom callbacks are encrypted)',
      '--wecom 需要 --aes-key（企业微信回调总是加密的）',
    );
  if (key !== undefined) {
    if (appId === undefined)
      throw new UsageError(
        '--aes-key needs --app-id (the appId, or the corpId with --wecom)',
        '--aes-key 需要 --app-id（公众号的 appId；--wecom 时为 corpId）',
      );
    try {
      createPushCrypto({ encodingAESKey: key, receiveId: appId });
    } catch (e) {
      throw new UsageError(
        `--aes-key: ${e instanceof PushError ? e.message : 'invalid'}`,
        '--aes-key 必须是 43 位 EncodingAESKey（A–Z、a–z、0–9、+、/）',
      );
    }
  }
  const endpoint: PushEndpoint = {
    kind: values.wecom ? 'wecom' : 'official',
    appId: appId ?? 'wxdoctor',
    ...(values.wecom ? { agentId: values['agent-id'] ?? '1000002' } : {}),
    urls: [url],
    token,
    encodingAESKey: key,
    mode: key === undefined ? 'plain' : 'safe',
    toUserName: values.wecom ? (appId ?? '') : originalIdOf(appId ?? 'wxdoctor'),
  };
  const checks: Check[] = [];
  const started = performance.now();
  const problem = await verifyUrl(endpoint, url, Math.floor(Date.now() / 1000));
  const ms = Math.round(performance.now() - started);
  checks.push(
    problem === undefined
      ? {
          code: 'push_verify',
          ok: true,
          en: `URL verification passed: the ${endpoint.kind === 'wecom' ? 'decrypted ' : ''}echostr came back (${ms} ms)`,
          zh: `URL 验证通过：返回了${endpoint.kind === 'wecom' ? '解密后的' : ''} echostr（${ms} 毫秒）`,
        }
      : {
          code: 'push_verify_failed',
          ok: false,
          en: `URL verification failed ("Token验证失败"): ${problem}. Check that --token is the Token of 服务器配置${endpoint.kind === 'wecom' ? ' and the EncodingAESKey' : ''}.`,
          zh: `URL 验证失败（Token验证失败）：${problem}。请确认 --token 与“服务器配置”中的 Token 一致${endpoint.kind === 'wecom' ? '，且 EncodingAESKey 正确' : ''}。`,
        },
  );
  checks.push(await forgedIsRefused(endpoint, url));
  if (problem === undefined) checks.push(...(await roundTrip(endpoint, url)));
  const ok = checks.every((c) => c.ok);
  if (values.json) io.out(JSON.stringify({ ok, checks }));
  else {
    for (const c of checks) {
      io.out(`${c.ok ? 'OK' : 'FAIL'} [${c.code}] ${c.en}`);
      io.out(`${c.ok ? '正确' : '错误'} [${c.code}] ${c.zh}`);
    }
  }
  return ok ? 0 : 1;
}
