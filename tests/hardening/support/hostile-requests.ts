/**
 * A bounded, seeded generator of hostile HTTP requests: methods x paths x headers x bodies. Every PUT it
 * builds carries at least one defect (path, credential or framing), so none of them may ever commit an entry.
 */
import type { RawStep } from './raw-http';
import { requestHead } from './raw-http';
import type { SeededRandom } from './seeded-random';

export interface HostileCase {
  name: string;
  steps: RawStep[];
  /** Routed to the cache GET handler (so a 5xx there would break Nx). */
  cacheGet: boolean;
}

export interface HostileContext {
  workspaceId: string;
  validToken: string;
  /** Hashes the fuzzer may name; none of them may exist afterwards. */
  hashes: string[];
}

const METHODS = [
  'GET',
  'PUT',
  'PUT',
  'PUT',
  'POST',
  'DELETE',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'get',
  'PuT',
  'FOO',
  'G\u0000T',
  'X'.repeat(300),
];

interface PathVariant {
  label: string;
  path: string;
  /** The path reaches a cache route with a well-formed hash and workspace. */
  wellFormed: boolean;
}

function pathVariants(ctx: HostileContext, hash: string): PathVariant[] {
  const ws = ctx.workspaceId;
  const bad = (label: string, path: string): PathVariant => ({ label, path, wellFormed: false });
  return [
    { label: 'cache', path: `/v1/cache/${hash}`, wellFormed: true },
    { label: 'workspace cache', path: `/w/${ws}/v1/cache/${hash}`, wellFormed: true },
    bad('traversal', `/v1/cache/../../../../etc/passwd`),
    bad('traversal in hash', `/v1/cache/..%2f..%2f..%2f${hash}`),
    bad('double-encoded traversal', `/v1/cache/%252e%252e%252f%252e%252e%252f${hash}`),
    bad('encoded dots', `/v1/cache/%2e%2e`),
    bad('dot hash', `/v1/cache/.`),
    bad('backslash traversal', `/v1/cache/..\\..\\..\\${hash}`),
    bad('traversal after hash', `/v1/cache/${hash}/../../../tmp/x`),
    bad('traversal in workspace', `/w/../../v1/cache/${hash}`),
    bad('encoded traversal in workspace', `/w/%2e%2e%2f%2e%2e/v1/cache/${hash}`),
    bad('bad workspace id', `/w/ws_${'Z'.repeat(20)}/v1/cache/${hash}`),
    bad('unicode workspace id', `/w/ws_\u00e9\u00e9\u00e9/v1/cache/${hash}`),
    bad('long workspace id', `/w/${'w'.repeat(5000)}/v1/cache/${hash}`),
    bad('empty workspace id', `/w//v1/cache/${hash}`),
    bad('NUL in workspace id', `/w/${ws}%00/v1/cache/${hash}`),
    bad('long hash', `/v1/cache/${'a'.repeat(129)}`),
    bad('very long path', `/v1/cache/${'b'.repeat(70_000)}`),
    bad('unicode hash', `/v1/cache/h\u00e9llo-\u4e16\u754c`),
    bad('encoded unicode hash', `/v1/cache/h%C3%A9llo`),
    bad('overlong utf-8', `/v1/cache/%C0%AE%C0%AE%C0%AF`),
    bad('NUL encoded', `/v1/cache/${hash}%00.txt`),
    bad('NUL raw', `/v1/cache/${hash}\u0000`),
    bad('dot in hash', `/v1/cache/${hash}.json`),
    bad('query and fragment', `/v1/cache/${hash}?x=../../a#frag`),
    bad('double slash', `//v1/cache/${hash}`),
    bad('absolute form', `http://evil.example/v1/cache/${hash}`),
    bad('asterisk', `*`),
    bad('admin traversal', `/api/v1/../../v1/cache/${hash}`),
    bad('empty', ``),
  ];
}

interface HeaderVariant {
  label: string;
  lines: (bodyLength: number) => string[];
  /** The framing is one a correct server must refuse or cannot honour. */
  defect: boolean;
  /** The body is sent chunked. */
  chunked?: boolean;
}

const HEADER_VARIANTS: HeaderVariant[] = [
  { label: 'content-length', lines: (n) => [`Content-Length: ${n}`], defect: false },
  { label: 'no content-length', lines: () => [], defect: true },
  {
    label: 'duplicate equal content-length',
    lines: (n) => [`Content-Length: ${n}`, `Content-Length: ${n}`],
    defect: true,
  },
  {
    label: 'conflicting content-length',
    lines: (n) => [`Content-Length: ${n}`, `Content-Length: ${n + 7}`],
    defect: true,
  },
  { label: 'content-length list', lines: (n) => [`Content-Length: ${n}, ${n}`], defect: true },
  { label: 'negative content-length', lines: () => ['Content-Length: -1'], defect: true },
  { label: 'hex content-length', lines: () => ['Content-Length: 0x10'], defect: true },
  { label: 'plus content-length', lines: (n) => [`Content-Length: +${n}`], defect: true },
  { label: 'huge content-length', lines: () => ['Content-Length: 99999999999999999999999'], defect: true },
  { label: 'chunked', lines: () => ['Transfer-Encoding: chunked'], defect: true, chunked: true },
  {
    label: 'chunked and content-length',
    lines: (n) => ['Transfer-Encoding: chunked', `Content-Length: ${n}`],
    defect: true,
    chunked: true,
  },
  {
    label: 'content-length and chunked',
    lines: (n) => [`Content-Length: ${n}`, 'Transfer-Encoding: chunked'],
    defect: true,
    chunked: true,
  },
  { label: 'obfuscated chunked', lines: (n) => [`Content-Length: ${n}`, 'Transfer-Encoding: xchunked'], defect: true },
  { label: 'chunked, identity', lines: () => ['Transfer-Encoding: chunked, identity'], defect: true, chunked: true },
  { label: 'space before colon', lines: (n) => [`Content-Length : ${n}`], defect: true },
  { label: 'huge header', lines: (n) => [`Content-Length: ${n}`, `X-Pad: ${'p'.repeat(100_000)}`], defect: true },
  {
    label: 'many headers',
    lines: (n) => [`Content-Length: ${n}`, ...Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`)],
    defect: true,
  },
  { label: 'CR injection', lines: (n) => [`Content-Length: ${n}`, 'X-A: a\rContent-Length: 0'], defect: true },
  { label: 'NUL in header', lines: (n) => [`Content-Length: ${n}`, 'X-A: a\u0000b'], defect: true },
  { label: 'bare LF', lines: (n) => [`Content-Length: ${n}\nX-B: b`], defect: true },
];

interface AuthVariant {
  label: string;
  line: (ctx: HostileContext) => string | null;
  valid: boolean;
}

const AUTH_VARIANTS: AuthVariant[] = [
  { label: 'valid token', line: (ctx) => `Authorization: Bearer ${ctx.validToken}`, valid: true },
  { label: 'valid token', line: (ctx) => `Authorization: Bearer ${ctx.validToken}`, valid: true },
  { label: 'no token', line: () => null, valid: false },
  { label: 'malformed token', line: () => 'Authorization: Bearer nxsc_ci_not-a-token', valid: false },
  {
    label: 'two tokens',
    line: (ctx) => `Authorization: Bearer ${ctx.validToken}\r\nAuthorization: Bearer nxsc_ci_x`,
    valid: false,
  },
  { label: 'basic auth', line: () => 'Authorization: Basic YWRtaW46YWRtaW4=', valid: false },
];

type BodyMode = 'empty' | 'exact' | 'short then close' | 'long' | 'slow';
const BODY_MODES: BodyMode[] = ['empty', 'exact', 'exact', 'short then close', 'long', 'slow'];

function bodySteps(mode: BodyMode, body: Buffer, chunked: boolean): RawStep[] {
  const framed = (data: Buffer): Buffer =>
    chunked
      ? Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')])
      : data;
  switch (mode) {
    case 'empty':
      return [];
    case 'exact':
      return [framed(body)];
    case 'short then close':
      return [body.subarray(0, Math.floor(body.length / 2)), { endWrite: true }];
    case 'long':
      return [framed(Buffer.concat([body, Buffer.from('EXTRA-BYTES-AFTER-THE-BODY')]))];
    case 'slow': {
      const data = framed(body);
      const third = Math.ceil(data.length / 3);
      return [
        data.subarray(0, third),
        { pauseMs: 60 },
        data.subarray(third, 2 * third),
        { pauseMs: 60 },
        data.subarray(2 * third),
      ];
    }
  }
}

/** `count` cases, the same ones for the same seed. */
export function generateHostileCases(random: SeededRandom, ctx: HostileContext, count: number): HostileCase[] {
  const cases: HostileCase[] = [];
  for (let i = 0; i < count; i += 1) {
    const method = random.pick(METHODS);
    const hash = random.pick(ctx.hashes);
    const path = random.pick(pathVariants(ctx, hash));
    const header = random.pick(HEADER_VARIANTS);
    const auth = random.pick(AUTH_VARIANTS);
    let mode = random.pick(BODY_MODES);
    const body = random.bytes(random.int(1, 4096));
    const isPut = method === 'PUT';
    const framingDefect = header.defect || mode === 'short then close' || (mode === 'empty' && body.length > 0);
    // A PUT with a clean path, credential and framing would be a legitimate upload: give it a defect.
    if (isPut && path.wellFormed && auth.valid && !framingDefect) mode = 'short then close';
    const authLine = auth.line(ctx);
    const lines = [
      'Host: 127.0.0.1',
      ...(authLine ? [authLine] : []),
      'Content-Type: application/octet-stream',
      'Connection: close',
      ...header.lines(body.length),
    ];
    const steps: RawStep[] = [
      requestHead(`${method} ${path.path} HTTP/1.1`, lines),
      ...bodySteps(mode, body, header.chunked === true),
    ];
    cases.push({
      name: `#${i} ${JSON.stringify(method.slice(0, 12))} ${path.label} | ${header.label} | ${auth.label} | body ${mode}`,
      steps,
      cacheGet: method === 'GET' && path.wellFormed,
    });
  }
  return cases;
}
