import { PushError } from './errors.ts';

/**
 * The XML WeChat pushes and accepts: `<xml>` with child elements holding text or CDATA, nested
 * elements (`ScanCodeInfo`, `Articles`) and repeated ones (`item`). Nothing else is needed, so nothing
 * else is read: no DOCTYPE, no entity but XML's five and character references, no processing
 * instruction but the XML declaration. Attributes are skipped.
 */

/** An element's content: its text, or its children by name (a name that repeats holds an array). */
export type XmlValue = string | XmlObject | XmlValue[];

/** Child elements by name. */
export interface XmlObject {
  [name: string]: XmlValue;
}

/** Limits of {@link readXml}. */
export interface ReadXmlOptions {
  /** Deepest element nesting accepted (the root is depth 1). @default 16 */
  maxDepth?: number;
  /** Most elements accepted. @default 4096 */
  maxElements?: number;
}

const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:.-]/;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * Reads a push body: the root element's children (`{ToUserName, FromUserName, MsgType, …}`), every
 * value a string. Leading and trailing whitespace around elements is ignored; text inside a leaf
 * element is kept exactly (CDATA or not).
 *
 * @throws {PushError} `bad_xml` for anything else, including a DOCTYPE (XML bombs and external
 * entities start there), an unknown entity, mixed content, or more nesting/elements than allowed.
 *
 * @example
 * import { readXml } from 'wxkit/push'
 * readXml('<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content></xml>') // { MsgType: 'text', Content: 'hi' }
 */
export function readXml(text: string, options: ReadXmlOptions = {}): XmlObject {
  const reader = new XmlReader(text, options.maxDepth ?? 16, options.maxElements ?? 4096);
  return reader.document();
}

class XmlReader {
  private at = 0;
  private elements = 0;

  constructor(
    private readonly s: string,
    private readonly maxDepth: number,
    private readonly maxElements: number,
  ) {}

  document(): XmlObject {
    if (this.s.charCodeAt(0) === 0xfeff) this.at = 1;
    this.skipSpace();
    if (this.s.startsWith('<?xml', this.at)) {
      const end = this.s.indexOf('?>', this.at);
      if (end < 0) this.fail('the XML declaration is not closed');
      this.at = end + 2;
    }
    this.skipMisc();
    if (this.s[this.at] !== '<') this.fail('no root element');
    const root = this.element(1);
    this.skipMisc();
    if (this.at !== this.s.length) this.fail('content after the root element');
    if (typeof root.value === 'string') {
      if (root.value.trim() !== '') this.fail('the root element holds text, not fields');
      return {};
    }
    return root.value as XmlObject;
  }

  private element(depth: number): { name: string; value: XmlValue } {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    if (++this.elements > this.maxElements) this.fail(`more than ${this.maxElements} elements`);
    this.at++; // '<'
    const name = this.name();
    this.skipAttributes();
    if (this.s.startsWith('/>', this.at)) {
      this.at += 2;
      return { name, value: '' };
    }
    this.at++; // '>'
    let text = '';
    let onlySpace = true;
    let children: XmlObject | undefined;
    for (;;) {
      if (this.at >= this.s.length) this.fail(`<${name}> is not closed`);
      const c = this.s[this.at];
      if (c === '<') {
        const s = this.s;
        const next = s[this.at + 1];
        if (next === '/') {
          this.at += 2;
          const closing = this.name();
          if (closing !== name) this.fail(`</${closing}> closes <${name}>`);
          this.skipSpace();
          if (s[this.at] !== '>') this.fail(`</${name}> is malformed`);
          this.at++;
          break;
        }
        if (s.startsWith('<![CDATA[', this.at)) {
          const end = s.indexOf(']]>', this.at + 9);
          if (end < 0) this.fail('a CDATA section is not closed');
          text += s.slice(this.at + 9, end);
          onlySpace = false;
          this.at = end + 3;
          continue;
        }
        if (s.startsWith('<!--', this.at)) {
          this.comment();
          continue;
        }
        if (next === '!') this.fail('DOCTYPE and other declarations are not accepted');
        if (next === '?') this.fail('processing instructions are not accepted');
        const child = this.element(depth + 1);
        children ??= Object.create(null) as XmlObject;
        const had = children[child.name];
        // A value is a string or an object; an array only ever comes from a repeated name.
        if (had === undefined) children[child.name] = child.value;
        else if (Array.isArray(had)) had.push(child.value);
        else children[child.name] = [had, child.value];
        continue;
      }
      const end = this.s.indexOf('<', this.at);
      const raw = this.s.slice(this.at, end < 0 ? this.s.length : end);
      if (onlySpace && !/^[ \t\r\n]*$/.test(raw)) onlySpace = false;
      text += raw.includes('&') ? this.decode(raw) : raw;
      this.at += raw.length;
    }
    if (children === undefined) return { name, value: text };
    if (!onlySpace) this.fail(`<${name}> mixes text and elements`);
    return { name, value: { ...children } };
  }

  private name(): string {
    const start = this.at;
    if (!NAME_START.test(this.s[this.at] ?? '')) this.fail('an element name is malformed');
    this.at++;
    while (NAME_CHAR.test(this.s[this.at] ?? '')) this.at++;
    return this.s.slice(start, this.at);
  }

  private skipAttributes(): void {
    for (;;) {
      this.skipSpace();
      const c = this.s[this.at];
      if (c === '>' || (c === '/' && this.s[this.at + 1] === '>')) return;
      if (c === undefined) this.fail('a start tag is not closed');
      this.name();
      this.skipSpace();
      if (this.s[this.at] !== '=') this.fail('an attribute has no value');
      this.at++;
      this.skipSpace();
      const quote = this.s[this.at];
      if (quote !== '"' && quote !== "'") this.fail('an attribute value is not quoted');
      const end = this.s.indexOf(quote, this.at + 1);
      if (end < 0) this.fail('an attribute value is not closed');
      const value = this.s.slice(this.at + 1, end);
      if (value.includes('<')) this.fail('an attribute value holds <');
      if (value.includes('&')) this.decode(value);
      this.at = end + 1;
    }
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.at + 4);
    if (end < 0) this.fail('a comment is not closed');
    this.at = end + 3;
  }

  /** Whitespace, comments (before and after the root). */
  private skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.s.startsWith('<!--', this.at)) this.comment();
      else if (this.s.startsWith('<!', this.at)) this.fail('DOCTYPE and other declarations are not accepted');
      else if (this.s.startsWith('<?', this.at)) this.fail('processing instructions are not accepted');
      else return;
    }
  }

  private skipSpace(): void {
    while (/[ \t\r\n]/.test(this.s[this.at] ?? '')) this.at++;
  }

  /**
   * XML's five entities and character references; anything else is refused.
   *
   * Stops: entity expansion (billion laughs) and external entities (XXE) — they need a DOCTYPE, which is
   * refused, and an `&name;` that is not one of the five is refused here rather than passed on verbatim.
   */
  private decode(raw: string): string {
    return raw.replace(/&([^;&]*);?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) this.fail('a bare & in text');
      if (ref.startsWith('#')) {
        const hex = ref[1] === 'x';
        const digits = ref.slice(hex ? 2 : 1);
        if (!(hex ? /^[0-9A-Fa-f]{1,6}$/ : /^[0-9]{1,7}$/).test(digits)) this.fail(`&${ref}; is malformed`);
        const code = Number.parseInt(digits, hex ? 16 : 10);
        if (code > 0x10ffff || code === 0 || (code >= 0xd800 && code <= 0xdfff))
          this.fail(`&${ref}; is not a character`);
        return String.fromCodePoint(code);
      }
      const value = ENTITIES[ref];
      if (value === undefined) this.fail(`the entity &${ref}; is not accepted`);
      return value;
    });
  }

  private fail(why: string): never {
    throw new PushError('bad_xml', `The XML is not accepted: ${why} (at character ${this.at}).`);
  }
}

/** A value {@link writeXml} writes: text (in CDATA), a number (bare), nested fields, repeated elements. */
export type XmlInput = string | number | XmlInputObject | readonly XmlInput[];

/** Fields to write, in order. `undefined` fields are left out. */
export interface XmlInputObject {
  readonly [name: string]: XmlInput | undefined;
}

const VALID_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
// Characters XML 1.0 does not allow anywhere, even in CDATA (WeChat's parser refuses the whole reply).
const INVALID_CHARS =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Writes `<root>…</root>` the way WeChat writes pushes and expects replies: strings in CDATA (a `]]>`
 * inside is split across two sections), numbers bare, objects as nested elements, arrays as the same
 * element repeated. Characters XML does not allow (control characters, lone surrogates) are dropped.
 *
 * @example
 * import { writeXml } from 'wxkit/push'
 * writeXml({ ToUserName: 'o123', CreateTime: 1700000000, MsgType: 'text', Content: 'hi' })
 * // '<xml><ToUserName><![CDATA[o123]]></ToUserName><CreateTime>1700000000</CreateTime>…</xml>'
 */
export function writeXml(fields: XmlInputObject, root = 'xml'): string {
  return `<${root}>${writeFields(fields)}</${root}>`;
}

function writeFields(fields: XmlInputObject): string {
  let out = '';
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (!VALID_NAME.test(name))
      throw new PushError('bad_reply', `${JSON.stringify(name)} is not an XML element name.`);
    if (Array.isArray(value))
      for (const item of value as readonly XmlInput[]) out += writeElement(name, item);
    else out += writeElement(name, value as XmlInput);
  }
  return out;
}

function writeElement(name: string, value: XmlInput): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new PushError('bad_reply', `<${name}> is not a finite number.`);
    return `<${name}>${value}</${name}>`;
  }
  if (typeof value === 'string') return `<${name}>${cdata(value)}</${name}>`;
  if (Array.isArray(value)) throw new PushError('bad_reply', `<${name}> holds a list in a list.`);
  if (value === null || typeof value !== 'object') {
    throw new PushError('bad_reply', `<${name}> holds a ${value === null ? 'null' : typeof value}.`);
  }
  return `<${name}>${writeFields(value as XmlInputObject)}</${name}>`;
}

function cdata(text: string): string {
  const clean = text.replace(INVALID_CHARS, '');
  return `<![CDATA[${clean.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}
