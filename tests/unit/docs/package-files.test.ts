/** What `npm pack` ships: every relative link and image of the README resolves inside the tarball, and the package names its repository. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const packed = (): Set<string> => {
  const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Set((JSON.parse(json) as [{ files: { path: string }[] }])[0].files.map((f) => f.path));
};

/** `[text](target)` and `![alt](target)` targets that are files of this repository (no scheme, no bare anchor). */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#')).map((t) => posix.normalize(t.split('#')[0]));
}

it('every relative link and image in the packed README is a file in the tarball', () => {
  const files = packed();
  const links = relativeLinks(readFileSync(join(root, 'README.md'), 'utf8'));
  expect(links.length).toBeGreaterThan(10);
  expect(links.filter((link) => !files.has(link))).toEqual([]);
});

it('package.json names the repository', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { repository?: { url?: string } };
  expect(pkg.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
});

it('ships the MIT LICENSE that package.json names', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { license?: string };
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  expect(pkg.license).toBe('MIT');
  expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} The nx-sealed-cache authors\n/);
  expect(packed().has('LICENSE')).toBe(true);
});
