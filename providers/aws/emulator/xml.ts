/**
 * @module ec2 xml
 * The EC2 response dialect (cloud-apis.md §1.3-1.4): lowerCamel element
 * names, lists as `<fooSet><item>…</item></fooSet>`, an empty list as
 * `<fooSet/>`, numbers and booleans as text, and the error envelope
 * `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`.
 * Builders return strings; every text value is escaped here and nowhere else.
 */

export const EC2_XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Scalar = string | number | boolean;

/** `<name>text</name>`; undefined values are left out entirely (the SDK treats absence as undefined). */
export function leaf(name: string, value: Scalar | undefined): string {
  if (value === undefined) return '';
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** `<name>…children…</name>` from already-built fragments. */
export function node(name: string, ...children: string[]): string {
  return `<${name}>${children.join('')}</${name}>`;
}

/** `<name><item>…</item>…</name>`, or `<name/>` when empty. */
export function itemSet(name: string, items: string[]): string {
  if (items.length === 0) return `<${name}/>`;
  return `<${name}>${items.map((i) => `<item>${i}</item>`).join('')}</${name}>`;
}

/** `tagSet` from a tag map, keys sorted so responses are stable. */
export function tagSet(tags: Record<string, string>): string {
  return itemSet(
    'tagSet',
    Object.keys(tags)
      .sort()
      .map((k) => leaf('key', k) + leaf('value', tags[k]!)),
  );
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

/** A success response: `<{Action}Response xmlns=…><requestId>…</requestId>…</{Action}Response>`. */
export function responseXml(action: string, requestId: string, body: string): string {
  const open = `<${action}Response xmlns="${EC2_XMLNS}">`;
  return `${XML_DECLARATION}${open}${leaf('requestId', requestId)}${body}</${action}Response>`;
}

/** The EC2 error envelope; note `RequestID` (capital ID) here, unlike success responses. */
export function errorXml(code: string, message: string, requestId: string): string {
  const error = `<Error>${leaf('Code', code)}${leaf('Message', message)}</Error>`;
  return `${XML_DECLARATION}<Response><Errors>${error}</Errors>${leaf('RequestID', requestId)}</Response>`;
}
