/** The engines the metadata store tests run against, each opened fresh and empty per test. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataEngine, MetadataStore } from '../../../src/server/metadata/metadata-store';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { makeTempDir } from './test-server';

export interface StoreBackend {
  name: string;
  engine: MetadataEngine;
  open(): Promise<MetadataStore>;
}

const sqlite: StoreBackend = {
  name: 'SQLite',
  engine: 'sqlite',
  async open() {
    const dir = makeTempDir('nxsc-store-');
    const store = await openSqliteMetadataStore(join(dir, 'metadata.sqlite'));
    const close = store.close.bind(store);
    return Object.assign(store, {
      close: async () => {
        await close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

export function storeBackends(): StoreBackend[] {
  return [sqlite];
}
