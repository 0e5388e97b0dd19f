/**
 * What each published package ships (packaging/packages.js): every relative link and image of the README
 * resolves inside it, each names its repository and license, and the client ships no server code.
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

const root = join(__dirname, '..', '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { shippedFiles } = require('../../../packaging/pack.js') as { shippedFiles: (d: Definition) => string[] };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const packaging = require('../../../packaging/packages.js') as {
  packageDefinitions: (rootManifest: unknown) => Definition[];
  CLIENT_DEPENDENCIES: string[];
};

interface Definition {
  manifest: {
    name: string;
    license?: string;
    repository?: { url?: string };
    dependencies: Record<string, string>;
    bin: Record<string, string>;
  };
}

const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const definitions = packaging.packageDefinitions(rootManifest);
const byName = (name: string): Definition => definitions.find((d) => d.manifest.name === name)!;

/** `[text](target)` and `![alt](target)` targets that are files of this repository (no scheme, no bare anchor). */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#')).map((t) => posix.normalize(t.split('#')[0]));
}

it('the two packages are nx-sealed-cache and nx-sealed-cache-server, each with its own command', () => {
  expect(definitions.map((d) => [d.manifest.name, Object.keys(d.manifest.bin)])).toEqual([
    ['nx-sealed-cache', ['nx-sealed-cache']],
    ['nx-sealed-cache-server', ['nx-sealed-cache-server']],
  ]);
});

it.each(['nx-sealed-cache', 'nx-sealed-cache-server'])(
  '%s: every relative link and image of the README is a file it ships, and it names repository and license',
  (name) => {
    const files = new Set(shippedFiles(byName(name)));
    const links = relativeLinks(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(links.length).toBeGreaterThan(10);
    expect(links.filter((link) => !files.has(link))).toEqual([]);
    expect(files.has('LICENSE')).toBe(true);
    expect(byName(name).manifest.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    expect(byName(name).manifest.license).toBe('MIT');
  },
);

it('nx-sealed-cache keeps only the client dependencies, nx-sealed-cache-server all of them', () => {
  expect(Object.keys(byName('nx-sealed-cache').manifest.dependencies)).toEqual(packaging.CLIENT_DEPENDENCIES);
  expect(byName('nx-sealed-cache-server').manifest.dependencies).toMatchObject(rootManifest.dependencies);
});

it('nx-sealed-cache ships no server code, nx-sealed-cache-server does', () => {
  const client = shippedFiles(byName('nx-sealed-cache'));
  const server = shippedFiles(byName('nx-sealed-cache-server'));
  expect(client.filter((f) => /^dist\/src\/(server\/|cli\/server-commands\.|cli\/commands\/serve\.)/.test(f))).toEqual(
    [],
  );
  expect(client).toContain('generators/init/schema.json');
  // dist/ exists once built; without a build neither list has any of it.
  expect(server.includes('dist/src/server/app.js')).toBe(client.includes('dist/src/index.js'));
});

it('ships the MIT LICENSE that package.json names', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license?: string; private?: boolean };
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  expect(pkg.license).toBe('MIT');
  expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} The nx-sealed-cache authors\n/);
  // The root is the development manifest, with every dependency: only the packed packages are published.
  expect(pkg.private).toBe(true);
});
