/** One structured log line. Never holds query strings, bodies, tokens or secrets. */
export interface LogEntry {
  time: string;
  level: 'info' | 'warn' | 'error';
  msg: string;
  [field: string]: unknown;
}

/** Where log lines go. */
export type LogSink = (entry: LogEntry) => void;

/** JSON lines on a stream (stdout by default). */
export function jsonLines(write: (line: string) => void = (l) => process.stdout.write(l)): LogSink {
  return (entry) => write(`${JSON.stringify(entry)}\n`);
}

const SECRETISH = /\b(access_token|jsapi_ticket|ticket|secret|appsecret|key|code|refresh_token)=[^&\s"']+/gi;
const BEARER = /\bBearer\s+[^\s"']+/gi;
// The same names as JSON members (`"access_token":"…"`), as in a WeChat or store body quoted by an error.
const SECRETISH_JSON =
  /"(access_token|jsapi_ticket|ticket|secret|appsecret|key|code|refresh_token|value)"(\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** Removes `access_token=…`-style values (also as JSON members) and bearer keys from a message before it is logged. */
export function redact(text: string): string {
  return text
    .replace(SECRETISH, '$1=<redacted>')
    .replace(SECRETISH_JSON, '"$1"$2"<redacted>"')
    .replace(BEARER, 'Bearer <redacted>');
}
