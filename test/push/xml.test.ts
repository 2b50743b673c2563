import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { PushError, readXml, writeXml, type XmlInputObject, type XmlValue } from '../../src/push/index.ts';

// fast-xml-parser, the well-kept parser the reader is proven against (a devDependency; see docs/decisions.md).
const require = createRequire(import.meta.url);
const fxp = require('fast-xml-parser') as { parse(xml: string, options: object): Record<string, unknown> };
const FXP_OPTIONS = {
  ignoreAttributes: true,
  parseNodeValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // fast-xml-parser 3 leaves entities alone; decode XML's five and character references as XML says.
  tagValueProcessor: (value: string) =>
    value.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, ref: string) => {
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (named[ref]) return named[ref] as string;
      return String.fromCodePoint(ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number(ref.slice(1)));
    }),
};

/** fast-xml-parser's view, without the whitespace it keeps between elements as `#text`. */
function reference(xml: string): unknown {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === '#text' && typeof x === 'string' && x.trim() === '') continue;
        out[k] = strip(x);
      }
      return out;
    }
    return v;
  };
  const parsed = strip(fxp.parse(xml, FXP_OPTIONS)) as Record<string, unknown>;
  const root = parsed.xml;
  return typeof root === 'string' && root.trim() === '' ? {} : root;
}

function badXml(xml: string, why?: RegExp): void {
  assert.throws(
    () => readXml(xml),
    (e: unknown) => {
      assert.ok(e instanceof PushError, String(e));
      assert.equal(e.reason, 'bad_xml');
      if (why) assert.match(e.message, why);
      return true;
    },
  );
}

// Names WeChat-like (and never __proto__-like, which no parser should be asked to build).
const nameArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,11}$/);
// Text XML allows: any code point but the C0 controls other than tab, CR, LF (CR is normalized by XML parsers, so left out).
const textArb = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .map((s) => s.replace(/[\u0000-\u0008\u000B-\u001F\uFFFE\uFFFF]/g, ''));
const { value: valueArb } = fc.letrec<{ value: XmlValue; object: Record<string, XmlValue> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    textArb,
    tie('object'),
    fc.array(
      fc.oneof(
        textArb.filter((s) => s !== ''),
        tie('object'),
      ),
      { minLength: 2, maxLength: 3 },
    ),
  ),
  object: fc.dictionary(nameArb, tie('value'), { minKeys: 1, maxKeys: 5 }),
}));
const messageArb = fc.dictionary(nameArb, valueArb, { minKeys: 0, maxKeys: 12 }) as fc.Arbitrary<
  Record<string, XmlValue>
>;

/** Writes text without CDATA (escaped), with WeChat's line breaks between elements: the reader's other path. */
function writeEscaped(fields: Record<string, XmlValue>): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const el = (name: string, v: XmlValue): string => {
    if (Array.isArray(v)) return v.map((x) => el(name, x)).join('\n');
    if (typeof v === 'string') return `<${name}>${esc(v)}</${name}>`;
    return `<${name}>\n${Object.entries(v)
      .map(([k, x]) => el(k, x))
      .join('\n')}\n</${name}>`;
  };
  return `<?xml version="1.0" encoding="utf-8"?>\n<xml>\n${Object.entries(fields)
    .map(([k, v]) => el(k, v))
    .join('\n')}\n</xml>\n`;
}

function hasBlankLeaf(v: XmlValue | Record<string, XmlValue>): boolean {
  if (typeof v === 'string') return v !== '' && v.trim() === '';
  if (Array.isArray(v)) return v.some(hasBlankLeaf);
  return Object.values(v).some(hasBlankLeaf);
}

/** What a value reads back as: strings stay, empty nested objects read as '' (`<A></A>`). */
function expected(v: XmlValue): XmlValue {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(expected);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expected(x)]));
}

describe('readXml agrees with fast-xml-parser (property)', () => {
  test('messages written with CDATA (as wxkit and WeChat write them)', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const xml = writeXml(message as XmlInputObject);
        const ours = readXml(xml);
        assert.deepStrictEqual(ours, reference(xml));
        assert.deepStrictEqual(ours, expected(message));
      }),
      { numRuns: 400 },
    );
  });

  test('messages written as escaped text with line breaks and an XML declaration', () => {
    fc.assert(
      fc.property(messageArb, (message) => {
        const xml = writeEscaped(message);
        // Leaves whose text is only whitespace are where parsers legitimately differ; WeChat sends none.
        fc.pre(!hasBlankLeaf(message));
        const ours = readXml(xml);
        assert.deepStrictEqual(ours, reference(xml));
        assert.deepStrictEqual(ours, expected(message));
      }),
      { numRuns: 400 },
    );
  });
});

describe('readXml — what WeChat sends', () => {
  test('the push doc’s text message, nested and repeated elements, an empty element', () => {
    const xml = `<xml><ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>1348831860</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[pic_weixin]]></Event>
<SendPicsInfo><Count>2</Count>
<PicList><item><PicMd5Sum><![CDATA[aaa]]></PicMd5Sum></item><item><PicMd5Sum><![CDATA[bbb]]></PicMd5Sum></item></PicList>
</SendPicsInfo>
<EventKey/>
</xml>`;
    assert.deepEqual(readXml(xml), {
      ToUserName: 'toUser',
      FromUserName: 'FromUser',
      CreateTime: '1348831860',
      MsgType: 'event',
      Event: 'pic_weixin',
      SendPicsInfo: { Count: '2', PicList: { item: [{ PicMd5Sum: 'aaa' }, { PicMd5Sum: 'bbb' }] } },
      EventKey: '',
    });
  });

  test('text keeps its spaces; CDATA split around ]]> joins; entities and character references decode; BOM, comments, attributes', () => {
    assert.deepEqual(
      readXml(
        '\uFEFF<!-- hi --><xml a="1" b=\'&amp;\'><Content><![CDATA[ a ]]]]><![CDATA[> b ]]></Content><T>&lt;&#x4E2D;&#25991;&gt;</T></xml>',
      ),
      {
        Content: ' a ]]> b ',
        T: '<中文>',
      },
    );
    assert.equal(readXml(writeXml({ Content: 'x]]>y]]>' })).Content, 'x]]>y]]>');
    assert.deepEqual(readXml('<xml/>'), {});
  });
});

describe('readXml — hostile input', () => {
  test('a DOCTYPE is refused before anything is expanded (billion laughs)', () => {
    let bomb = '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">';
    for (let i = 1; i < 10; i++) bomb += `<!ENTITY lol${i} "${`&lol${i - 1 || ''};`.repeat(10)}">`;
    bomb += ']><xml><Content>&lol9;</Content></xml>';
    badXml(bomb, /DOCTYPE/);
  });

  test('external entities (XXE) and unknown entities are refused', () => {
    badXml(
      '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>',
      /DOCTYPE/,
    );
    badXml('<xml><Content>&xxe;</Content></xml>', /entity &xxe;/);
    badXml('<xml><Content>a & b</Content></xml>', /bare &/);
    badXml('<xml><Content>&#0;</Content></xml>');
    badXml('<xml><Content>&#xD800;</Content></xml>');
    badXml('<xml><!DOCTYPE x><Content>a</Content></xml>', /DOCTYPE/);
    badXml('<xml><?php echo 1 ?></xml>', /processing/);
  });

  test('deep nesting and element floods stop at the limits, not at the stack', () => {
    badXml(`${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`, /deeper than 16/);
    badXml(`<xml>${'<a/>'.repeat(5000)}</xml>`, /more than 4096 elements/);
    assert.equal(Object.keys(readXml(`<xml>${'<a>1</a>'.repeat(100)}</xml>`)).length, 1);
  });

  test('malformed documents', () => {
    for (const xml of [
      '',
      'hello',
      '<xml>',
      '<xml><a></b></xml>',
      '<xml><a>1</a></xml><xml/>',
      '<xml>text<a>1</a></xml>',
      '<xml>text</xml>',
      '<xml><a><![CDATA[x</a></xml>',
      '<xml><a x=1>1</a></xml>',
      '<xml><1a>1</1a></xml>',
      '<xml><a x="<">1</a></xml>',
      '<xml><!-- x </xml>',
    ]) {
      badXml(xml);
    }
  });
});

describe('writeXml', () => {
  test('strings in CDATA, numbers bare, arrays repeated, nothing XML forbids', () => {
    assert.equal(
      writeXml({ A: 'x', B: 7, C: { item: [{ T: 't' }, { T: 'u' }] }, D: undefined, E: 'a\u0001b\uD800c' }),
      '<xml><A><![CDATA[x]]></A><B>7</B><C><item><T><![CDATA[t]]></T></item><item><T><![CDATA[u]]></T></item></C><E><![CDATA[abc]]></E></xml>',
    );
    assert.throws(
      () => writeXml({ 'a b': 'x' }),
      (e: unknown) => e instanceof PushError && e.reason === 'bad_reply',
    );
    assert.throws(
      () => writeXml({ A: Number.NaN }),
      (e: unknown) => e instanceof PushError && e.reason === 'bad_reply',
    );
  });
});
