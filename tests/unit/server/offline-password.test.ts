/** `user set-password --data-dir`: the server admin's own way to set a password, only with the server stopped. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { initialiseAdmin } from '../../../src/server/admin-init';
import { buildServer } from '../../../src/server/app';
import { verifyPassword } from '../../../src/server/auth/passwords';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { setPasswordOffline } from '../../../src/server/offline-password';
import { makeTempDir } from './test-server';

const PASSWORD = 'a long and careful passphrase';
let dataDir: string;

beforeEach(async () => {
  dataDir = makeTempDir('nxsc-offline-pw-');
  await initialiseAdmin({ dataDir });
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

it('sets the password on a stopped server and audits it', async () => {
  await setPasswordOffline({ dataDir, user: 'admin', password: PASSWORD });
  const store = await openSqliteMetadataStore(join(dataDir, 'metadata.sqlite'));
  try {
    const admin = await store.findUser('admin');
    const stored = await store.webAuth.findPasswordHash(admin?.id ?? '');
    expect(await verifyPassword(PASSWORD, stored ?? '')).toBe(true);
    expect(await store.listAudit({ limit: 10 })).toContainEqual(
      expect.objectContaining({ action: 'user.password-set', details: { via: 'server-cli' } }),
    );
  } finally {
    await store.close();
  }
});

it('refuses while the server runs, and on a folder that is no data directory', async () => {
  const server = await buildServer({ dataDir, listen: false, logLevel: false });
  try {
    await expect(setPasswordOffline({ dataDir, user: 'admin', password: PASSWORD })).rejects.toMatchObject({
      code: 'ERR_DATA_DIR_LOCKED',
    });
  } finally {
    await server.close();
  }
  await expect(
    setPasswordOffline({ dataDir: join(dataDir, 'nothing-here'), user: 'admin', password: PASSWORD }),
  ).rejects.toMatchObject({ code: 'ERR_INPUT_INVALID' });
  await expect(setPasswordOffline({ dataDir, user: 'nobody', password: PASSWORD })).rejects.toMatchObject({
    code: 'ERR_USER_NOT_FOUND',
  });
});
