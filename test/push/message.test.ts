import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  customSendBody,
  PushError,
  type PushReply,
  parseMessage,
  parseReply,
  renderReply,
  reply,
  toReply,
  writeXml,
} from '../../src/push/index.ts';

const HEAD = {
  ToUserName: 'gh_10f6c3c3ac5a',
  FromUserName: 'oyORnuP8q7ou2gfYjqLzSIWZf0rs',
  CreateTime: 1409735668,
};

describe('parseMessage: a typed union on MsgType / Event, every raw field kept', () => {
  test('the official sample message (push.json)', () => {
    const v = (
      JSON.parse(readFileSync(new URL('./fixtures/push.json', import.meta.url), 'utf8')) as {
        vectors: Array<{ message?: string }>;
      }
    ).vectors[0];
    const m = parseMessage(v?.message as string);
    assert.equal(m.type, 'text');
    assert.ok(m.type === 'text');
    assert.equal(m.Content, 'abcdteT');
    assert.equal(m.MsgId, '6054768590064713728');
    assert.equal(m.CreateTime, 1409735668);
    assert.equal(m.format, 'xml');
    assert.equal(m.raw.MsgId, '6054768590064713728');
  });

  const cases: Array<[Record<string, unknown>, string, Record<string, unknown>]> = [
    [
      { MsgType: 'image', PicUrl: 'http://p', MediaId: 'm1', MsgId: '1' },
      'image',
      { PicUrl: 'http://p', MediaId: 'm1' },
    ],
    [
      { MsgType: 'voice', MediaId: 'm', Format: 'amr', Recognition: '你好', MsgId: '2' },
      'voice',
      { Format: 'amr', Recognition: '你好' },
    ],
    [{ MsgType: 'video', MediaId: 'm', ThumbMediaId: 't', MsgId: '3' }, 'video', { ThumbMediaId: 't' }],
    [{ MsgType: 'shortvideo', MediaId: 'm', ThumbMediaId: 't', MsgId: '4' }, 'shortvideo', { MediaId: 'm' }],
    [
      {
        MsgType: 'location',
        Location_X: '23.134521',
        Location_Y: '113.358803',
        Scale: '20',
        Label: '位置信息',
        MsgId: '5',
      },
      'location',
      { Location_X: 23.134521, Location_Y: 113.358803, Scale: 20, Label: '位置信息' },
    ],
    [
      { MsgType: 'link', Title: 't', Description: 'd', Url: 'https://x', MsgId: '6' },
      'link',
      { Url: 'https://x' },
    ],
    [
      { MsgType: 'event', Event: 'subscribe', EventKey: 'qrscene_123', Ticket: 'TICKET' },
      'event.subscribe',
      { EventKey: 'qrscene_123', Ticket: 'TICKET' },
    ],
    [{ MsgType: 'event', Event: 'unsubscribe' }, 'event.unsubscribe', { EventKey: '' }],
    [{ MsgType: 'event', Event: 'SCAN', EventKey: '123', Ticket: 'T' }, 'event.SCAN', { EventKey: '123' }],
    [
      {
        MsgType: 'event',
        Event: 'LOCATION',
        Latitude: '23.137466',
        Longitude: '113.352425',
        Precision: '119.385040',
      },
      'event.LOCATION',
      { Latitude: 23.137466, Precision: 119.38504 },
    ],
    [
      { MsgType: 'event', Event: 'CLICK', EventKey: 'V1001_TODAY_MUSIC' },
      'event.CLICK',
      { EventKey: 'V1001_TODAY_MUSIC' },
    ],
    [
      { MsgType: 'event', Event: 'VIEW', EventKey: 'http://www.qq.com/', MenuId: '7' },
      'event.VIEW',
      { MenuId: '7' },
    ],
    [
      { MsgType: 'event', Event: 'TEMPLATESENDJOBFINISH', MsgID: '200163836', Status: 'success' },
      'event.TEMPLATESENDJOBFINISH',
      { MsgID: '200163836', Status: 'success' },
    ],
    [
      {
        MsgType: 'event',
        Event: 'scancode_push',
        EventKey: 'k',
        ScanCodeInfo: { ScanType: 'qrcode', ScanResult: '1' },
      },
      'event.scancode_push',
      { EventKey: 'k' },
    ],
    [
      { MsgType: 'event', Event: 'change_contact', ChangeType: 'create_user' },
      'other',
      { Event: 'change_contact' },
    ],
    [{ MsgType: 'miniprogrampage', Title: 'x', MsgId: '9' }, 'other', { MsgId: '9' }],
  ];

  for (const [fields, type, expected] of cases) {
    test(`${type} (${String(fields.Event ?? fields.MsgType)}) from XML and JSON`, () => {
      for (const format of ['xml', 'json'] as const) {
        const body =
          format === 'xml'
            ? writeXml({ ...HEAD, ...(fields as Record<string, string>) })
            : JSON.stringify({ ...HEAD, ...fields });
        const m = parseMessage(body);
        assert.equal(m.type, type);
        assert.equal(m.format, format);
        assert.equal(m.FromUserName, HEAD.FromUserName);
        for (const [k, v] of Object.entries(expected))
          assert.deepEqual((m as unknown as Record<string, unknown>)[k], v, `${format} ${k}`);
        for (const k of Object.keys(fields)) assert.ok(k in m.raw, `raw keeps ${k}`);
      }
    });
  }

  test('nested fields stay in raw (ScanCodeInfo, SendPicsInfo with repeated items)', () => {
    const m = parseMessage(
      writeXml({
        ...HEAD,
        MsgType: 'event',
        Event: 'pic_weixin',
        EventKey: 'k',
        SendPicsInfo: { Count: 2, PicList: { item: [{ PicMd5Sum: 'a' }, { PicMd5Sum: 'b' }] } },
      }),
    );
    assert.equal(m.type, 'event.pic_weixin');
    assert.deepEqual(m.raw.SendPicsInfo, {
      Count: '2',
      PicList: { item: [{ PicMd5Sum: 'a' }, { PicMd5Sum: 'b' }] },
    });
  });

  test('JSON bodies keep 64-bit MsgIds exact (JSON.parse alone rounds them, merging neighbouring messages)', () => {
    const body = `{"ToUserName":"gh","FromUserName":"o","CreateTime":1409735668,"MsgType":"text","Content":"a","MsgId":6054768590064713729}`;
    assert.notEqual(String(JSON.parse(body).MsgId), '6054768590064713729', 'JSON.parse rounds it');
    const m = parseMessage(body);
    assert.ok(m.type === 'text');
    assert.equal(m.MsgId, '6054768590064713729');
    assert.equal(m.CreateTime, 1409735668);
  });

  test('the four fields every push has are required', () => {
    for (const drop of ['ToUserName', 'FromUserName', 'CreateTime', 'MsgType']) {
      const fields: Record<string, unknown> = { ...HEAD, MsgType: 'text', Content: 'x' };
      delete fields[drop];
      assert.throws(
        () => parseMessage(writeXml(fields as Record<string, string>)),
        (e: unknown) => e instanceof PushError && e.reason === 'missing_field' && e.message.includes(drop),
      );
    }
    assert.throws(
      () => parseMessage(writeXml({ ...HEAD, CreateTime: 'yesterday', MsgType: 'text' })),
      /CreateTime/,
    );
    assert.throws(
      () => parseMessage('{not json'),
      (e: unknown) => e instanceof PushError && e.reason === 'bad_json',
    );
  });
});

describe('replies', () => {
  const message = parseMessage(writeXml({ ...HEAD, MsgType: 'text', Content: 'hi', MsgId: '1' }));
  const all: PushReply[] = [
    reply.text('你好 <a href="https://example.com">link</a> ]]>'),
    reply.image('MEDIA_IMG'),
    reply.voice('MEDIA_VOICE'),
    reply.video({ mediaId: 'MEDIA_VIDEO', title: 't', description: 'd' }),
    reply.music({ thumbMediaId: 'THUMB', title: 'song', musicUrl: 'http://m', hqMusicUrl: 'http://hq' }),
    reply.news([{ title: 'a', description: 'd', picUrl: 'http://p', url: 'http://u' }]),
    reply.news([{ title: 'a' }, { title: 'b', url: 'http://u' }]),
    reply.transferCustomerService(),
    reply.transferCustomerService('kf2001@gh_123'),
  ];

  test('every reply type renders as WeChat reads it and reads back, in XML and JSON, addressed back to the user', () => {
    for (const r of all) {
      for (const format of ['xml', 'json'] as const) {
        const body = renderReply(r, message, { format, createTime: 1700000000 });
        const back = parseReply(body);
        assert.equal(back.ToUserName, HEAD.FromUserName);
        assert.equal(back.FromUserName, HEAD.ToUserName);
        assert.equal(back.CreateTime, 1700000000);
        assert.deepEqual(back.reply, r, `${format}: ${body}`);
      }
    }
    assert.equal(renderReply(reply.success(), message), 'success');
    assert.deepEqual(parseReply('').reply, { type: 'success' });
  });

  test('the XML of a text and a news reply, field for field as in WeChat’s passive-reply doc', () => {
    assert.equal(
      renderReply(reply.text('你好'), message, { createTime: 12345678 }),
      `<xml><ToUserName><![CDATA[${HEAD.FromUserName}]]></ToUserName><FromUserName><![CDATA[${HEAD.ToUserName}]]></FromUserName><CreateTime>12345678</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content></xml>`,
    );
    assert.match(
      renderReply(reply.news([{ title: 't', url: 'u' }]), message, { createTime: 1 }),
      /<MsgType><!\[CDATA\[news\]\]><\/MsgType><ArticleCount>1<\/ArticleCount><Articles><item><Title><!\[CDATA\[t\]\]><\/Title><Url><!\[CDATA\[u\]\]><\/Url><\/item><\/Articles><\/xml>$/,
    );
  });

  test('toReply refuses what WeChat would refuse (the forward URL’s JSON goes through it)', () => {
    for (const bad of [
      null,
      'text',
      [],
      { type: 'html' },
      { type: 'text' },
      { type: 'text', content: 1 },
      { type: 'news', articles: [] },
      { type: 'news', articles: Array(9).fill({ title: 't' }) },
      { type: 'video', mediaId: 'm', title: 3 },
    ]) {
      assert.throws(
        () => toReply(bad),
        (e: unknown) => e instanceof PushError && e.reason === 'bad_reply',
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(toReply({ type: 'text', content: 'x', extra: 'dropped' }), {
      type: 'text',
      content: 'x',
    });
  });

  test('replies render for any text (property): what the user typed comes back unchanged', () => {
    fc.assert(
      fc.property(
        fc
          .string({ unit: 'grapheme', maxLength: 300 })
          .map((s) => s.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\r]/g, '')),
        (content) => {
          for (const format of ['xml', 'json'] as const) {
            assert.deepEqual(parseReply(renderReply(reply.text(content), message, { format })).reply, {
              type: 'text',
              content,
            });
          }
        },
      ),
    );
  });

  test('late replies as customer-service messages (custom/send); nothing for success or a transfer', () => {
    assert.deepEqual(customSendBody(reply.text('hi'), 'o1'), {
      touser: 'o1',
      msgtype: 'text',
      text: { content: 'hi' },
    });
    assert.deepEqual(customSendBody(reply.image('m'), 'o1'), {
      touser: 'o1',
      msgtype: 'image',
      image: { media_id: 'm' },
    });
    assert.deepEqual(customSendBody(reply.news([{ title: 't', url: 'u', picUrl: 'p' }]), 'o1'), {
      touser: 'o1',
      msgtype: 'news',
      news: { articles: [{ title: 't', description: undefined, url: 'u', picurl: 'p' }] },
    });
    assert.equal(customSendBody(reply.success(), 'o1'), undefined);
    assert.equal(customSendBody(reply.transferCustomerService(), 'o1'), undefined);
  });
});
