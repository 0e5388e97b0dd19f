import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatNxVersion } from '../../../src/nx-config/nx-version';
import { readInstalledNxVersion } from '../../../src/plugin/installed-nx';

describe('readInstalledNxVersion', () => {
  let root: string;
  beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'installed-nx-'))));
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  function installNx(at: string, version: string): void {
    fs.mkdirSync(path.join(at, 'node_modules', 'nx'), { recursive: true });
    fs.writeFileSync(path.join(at, 'node_modules', 'nx', 'package.json'), JSON.stringify({ name: 'nx', version }));
  }

  it("reads the workspace's own node_modules/nx", () => {
    installNx(root, '24.0.6');
    const version = readInstalledNxVersion(root);
    expect(version && formatNxVersion(version)).toBe('24.0.6');
  });

  it('falls back to resolution from the workspace when nx is installed further up', () => {
    installNx(root, '22.7.12');
    const workspace = path.join(root, 'apps', 'monorepo');
    fs.mkdirSync(workspace, { recursive: true });
    const version = readInstalledNxVersion(workspace);
    expect(version && formatNxVersion(version)).toBe('22.7.12');
  });

  it('is null without an installed nx or with an unreadable manifest', () => {
    expect(readInstalledNxVersion(root)).toBeNull();
    fs.mkdirSync(path.join(root, 'node_modules', 'nx'), { recursive: true });
    fs.writeFileSync(path.join(root, 'node_modules', 'nx', 'package.json'), '{not json');
    expect(readInstalledNxVersion(root)).toBeNull();
  });
});
