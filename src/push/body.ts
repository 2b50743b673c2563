import { parseJsonObject } from '../http/params.ts';
import { PushError } from './errors.ts';
import { type ReadXmlOptions, readXml, type XmlObject } from './xml.ts';

/** How a push body is written: WeChat's XML, or the JSON format an Official Account may choose. */
export type PushFormat = 'xml' | 'json';

/** A push body's fields, from XML (every value a string or nested fields) or JSON (as sent). */
export type PushFields = XmlObject | Record<string, unknown>;

/** The format of a body: JSON when its first non-space character is `{`, else XML. */
export function bodyFormat(text: string): PushFormat {
  return /^[\s\uFEFF]*\{/.test(text) ? 'json' : 'xml';
}

/** Reads a push body of either format into its fields. @throws {PushError} `bad_xml` / `bad_json` */
export function readBody(
  text: string,
  format: PushFormat = bodyFormat(text),
  options?: ReadXmlOptions,
): PushFields {
  if (format === 'xml') return readXml(text, options);
  try {
    return parseJsonObject(Buffer.from(quoteLongIntegers(text), 'utf8'));
  } catch (e) {
    throw new PushError('bad_json', e instanceof Error ? e.message : 'The body is not a JSON object.', {
      cause: e,
    });
  }
}

/** A field as a string: XML text as is, a JSON number or string; `undefined` for anything else. */
export function field(fields: PushFields, name: string): string | undefined {
  const v = (fields as Record<string, unknown>)[name];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/**
 * Turns integers of 16 digits or more into strings before JSON.parse.
 *
 * Stops: MsgIds (64-bit, e.g. 6054768590064713728) being rounded to the nearest double, which
 * makes neighbouring messages of one user share an id — and de-duplication drop all but one of them.
 */
export function quoteLongIntegers(text: string): string {
  return text.replace(
    /("(?:[^"\\]|\\.)*")|(?<=[:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g,
    (whole, str: string | undefined, int: string | undefined) => (str !== undefined ? whole : `"${int}"`),
  );
}
