/**
 * Reads and rewrites JSON files (nx.json, package.json) through the generator tree with minimal text
 * edits, so untouched settings keep their bytes, comments and key order (devkit's writeJson reformats).
 */
import {
  applyEdits,
  findNodeAtLocation,
  format,
  modify,
  parse,
  parseTree,
  printParseErrorCode,
  type FormattingOptions,
  type ParseError,
} from 'jsonc-parser';
import { SealedCacheError } from '../errors';
import type { NxJson, NxJsonAccess, WorkspaceTree } from './nx-devkit';

type Json = Record<string, unknown>;

export function readJsonText(tree: WorkspaceTree, path: string): Json | null {
  const text = tree.exists(path) ? tree.read(path, 'utf-8') : null;
  if (text === null) return null;
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true });
  if (errors.length > 0 || !isPlainObject(value)) {
    const first = errors[0];
    throw new SealedCacheError(
      'ERR_CONFIG_INVALID',
      `${path} is not a JSON object${first ? ` (${printParseErrorCode(first.error)} at offset ${first.offset})` : ''}; nothing was changed.`,
    );
  }
  return value;
}

/** Writes `next` over the file by editing only the properties that differ from what the file holds. */
export function writeJsonText(tree: WorkspaceTree, path: string, next: Json): void {
  const text = tree.exists(path) ? tree.read(path, 'utf-8') : null;
  if (text === null) {
    tree.write(path, `${JSON.stringify(next, null, 2)}\n`);
    return;
  }
  const current = readJsonText(tree, path) ?? {};
  const edited = editText(text, [], current, next, formattingOf(text));
  if (edited !== text) tree.write(path, edited);
}

/** nx.json through minimal text edits; what `init` and `convert-to-id` use in real workspaces. */
export const textNxJsonAccess: NxJsonAccess = {
  readNxJson: (tree) => readJsonText(tree, 'nx.json') as NxJson | null,
  updateNxJson: (tree, nxJson) => writeJsonText(tree, 'nx.json', nxJson),
};

function editText(
  text: string,
  path: string[],
  before: Json,
  after: Json,
  formattingOptions: FormattingOptions,
): string {
  let out = text;
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = before[key];
    const now = after[key];
    if (JSON.stringify(was) === JSON.stringify(now)) continue;
    if (isPlainObject(was) && isPlainObject(now)) {
      out = editText(out, [...path, key], was, now, formattingOptions);
      continue;
    }
    out = editProperty(out, [...path, key], now, formattingOptions);
  }
  return out;
}

/** Formats only the inserted text: modify's own formatting also reflows the neighbouring property. */
function editProperty(text: string, path: string[], value: unknown, formattingOptions: FormattingOptions): string {
  if (value === undefined) return removeProperty(text, path);
  let out = text;
  for (const edit of modify(text, path, value, {}).sort((a, b) => b.offset - a.offset)) {
    out = applyEdits(out, [edit]);
    out = applyEdits(out, format(out, { offset: edit.offset, length: edit.content.length }, formattingOptions));
  }
  return out;
}

/** Cuts the property and one separator, leaving its neighbours' bytes (modify's removal reflows them). */
function removeProperty(text: string, path: string[]): string {
  const property = findNodeAtLocation(parseTree(text) ?? { type: 'null', offset: 0, length: 0 }, path)?.parent;
  const siblings = property?.parent?.children;
  if (!property || !siblings) return text;
  const index = siblings.indexOf(property);
  const next = siblings[index + 1];
  const previous = siblings[index - 1];
  const end = property.offset + property.length;
  if (next) return text.slice(0, property.offset) + text.slice(next.offset);
  if (previous) return text.slice(0, previous.offset + previous.length) + text.slice(end);
  const object = property.parent;
  return object ? `${text.slice(0, object.offset + 1)}${text.slice(object.offset + object.length - 1)}` : text;
}

function formattingOf(text: string): FormattingOptions {
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  ';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  return indent.startsWith('\t')
    ? { insertSpaces: false, tabSize: 1, eol }
    : { insertSpaces: true, tabSize: indent.length, eol };
}

function isPlainObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
