#!/usr/bin/env node
/**
 * `node packaging/pack.js <out-dir> [package-name...]`: stages each package of packaging/packages.js in a
 * temp folder (its manifest, and only the files it ships) and runs `npm pack` there. Prints the tarballs'
 * paths as JSON. Needs `npm run build` first.
 */
const { execFileSync } = require('node:child_process');
const {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} = require('node:fs');
const { tmpdir } = require('node:os');
const { dirname, join, relative, resolve } = require('node:path');
const { matchesPath, packageDefinitions } = require('./packages');

const ROOT = resolve(__dirname, '..');

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}

/** The repository files a definition ships, as posix paths relative to the root. */
function shippedFiles(definition) {
  const all = ['dist', 'generators', 'executors', 'docs']
    .flatMap((dir) => listFiles(join(ROOT, dir)))
    .concat(
      readdirSync(ROOT, { withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => join(ROOT, entry.name)),
    )
    .map((path) => relative(ROOT, path).split('\\').join('/'));
  return [...new Set(all)]
    .filter((path) => definition.paths.some((pattern) => matchesPath(path, pattern)))
    .filter((path) => !definition.exclude(path))
    .filter((path) => !path.endsWith('.tsbuildinfo'))
    .sort();
}

function stage(definition) {
  const dir = mkdtempSync(join(tmpdir(), `${definition.manifest.name}-stage-`));
  const files = shippedFiles(definition);
  for (const file of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    copyFileSync(join(ROOT, file), join(dir, file));
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(definition.manifest, null, 2)}\n`);
  return dir;
}

function packAll(outDir, names = []) {
  if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('run `npm run build` first');
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  mkdirSync(outDir, { recursive: true });
  const chosen = packageDefinitions(root).filter((d) => names.length === 0 || names.includes(d.manifest.name));
  return chosen.map((definition) => {
    const dir = stage(definition);
    try {
      const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', outDir], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const [result] = JSON.parse(out);
      return {
        name: definition.manifest.name,
        tarball: join(outDir, result.filename),
        files: result.files.map((f) => f.path),
        unpackedSize: result.unpackedSize,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

module.exports = { packAll, shippedFiles };

if (require.main === module) {
  const [outDir, ...names] = process.argv.slice(2);
  if (!outDir) {
    process.stderr.write('usage: node packaging/pack.js <out-dir> [package-name...]\n');
    process.exit(2);
  }
  const packed = packAll(resolve(outDir), names).map(({ files, ...rest }) => ({ ...rest, fileCount: files.length }));
  process.stdout.write(`${JSON.stringify(packed, null, 2)}\n`);
}
