// Thin typed access over fast-xml-parser: parse with positions in errors, and small helpers to walk the result
// without `any`. Attributes are exposed with an `@_` prefix, element text of mixed nodes under `#text`.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

import { SolutionError } from '../errors';

export type XmlValue = string | XmlNode | XmlValue[];
export interface XmlNode {
  [name: string]: XmlValue;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  allowBooleanAttributes: false,
});

/** Parses XML text; malformed XML becomes a SolutionError naming the file, line and column. */
export function parseXml(text: string, file: string): XmlNode {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const verdict = XMLValidator.validate(body);
  if (verdict !== true) {
    const { line, col, msg } = verdict.err;
    throw new SolutionError('MalformedXml', `malformed XML at line ${line}, column ${col}: ${msg}`, file);
  }
  const doc: unknown = parser.parse(body);
  if (!isNode(doc)) throw new SolutionError('MalformedXml', 'no root element', file);
  return doc;
}

export function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** All child elements with this name (0..n), as nodes; text-only children become `{ '#text': value }`. */
export function children(node: XmlNode | undefined, name: string): XmlNode[] {
  if (!node) return [];
  const value = node[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => (isNode(item) ? item : { '#text': typeof item === 'string' ? item : '' }));
}

export function child(node: XmlNode | undefined, name: string): XmlNode | undefined {
  return children(node, name)[0];
}

/** Text content of the first child element with this name, or undefined when there is no such element. */
export function childText(node: XmlNode | undefined, name: string): string | undefined {
  if (!node || node[name] === undefined) return undefined;
  return textOf(child(node, name));
}

export function textOf(node: XmlNode | undefined): string {
  if (!node) return '';
  const text = node['#text'];
  return typeof text === 'string' ? text : '';
}

export function attr(node: XmlNode | undefined, name: string): string | undefined {
  if (!node) return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** Like childText, but the element must exist and be non-empty. */
export function requiredText(node: XmlNode | undefined, name: string, file: string, where: string): string {
  const value = childText(node, name);
  if (value === undefined || value === '') {
    throw new SolutionError('MissingElement', `${where} has no <${name}>`, file);
  }
  return value;
}

export function requiredAttr(node: XmlNode | undefined, name: string, file: string, where: string): string {
  const value = attr(node, name);
  if (value === undefined || value === '') {
    throw new SolutionError('MissingElement', `${where} has no ${name}="..." attribute`, file);
  }
  return value;
}

/** First localized label (`<x description=".." languagecode="1033"/>`) under a container such as displaynames. */
export function label(container: XmlNode | undefined, itemName: string): string {
  const first = children(container, itemName).find((item) => attr(item, 'languagecode') === '1033') ?? children(container, itemName)[0];
  return attr(first, 'description') ?? '';
}

/** Escapes text for an XML attribute or element. */
export function escapeXml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
