/** The engines the metadata store tests run against, each opened fresh and empty per test. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataEngine, MetadataStore } from '../../../src/server/metadata/metadata-store';
import { openPostgresMetadataStore } from '../../../src/server/metadata/postgres-metadata-store';
import { openSqliteMetadataStore } from '../../../src/server/metadata/sqlite-metadata-store';
import { type TestPostgres, startTestPostgres, testPostgresIsServer } from '../../support/postgres';
import { makeTempDir } from './test-server';

export interface StoreBackend {
  name: string;
  engine: MetadataEngine;
  /** Once per describe: starts what the engine needs (a PostgreSQL). */
  setUp(): Promise<void>;
  /** A fresh, empty, migrated store. */
  open(): Promise<MetadataStore>;
  /**
   * A second store on the same database, as another replica holds it; only where that is a session
   * of its own (a PostgreSQL server: PGlite is one session, and the SQLite file one process's).
   */
  openReplica?(): Promise<MetadataStore>;
  tearDown(): Promise<void>;
}

const sqlite: StoreBackend = {
  name: 'SQLite',
  engine: 'sqlite',
  setUp: async () => undefined,
  tearDown: async () => undefined,
  async open() {
    const dir = makeTempDir('nxsc-store-');
    // As the server opens it: held exclusively, so its lookups are remembered (lookup-cache.ts).
    const store = await openSqliteMetadataStore(join(dir, 'metadata.sqlite'), { exclusive: true });
    const close = store.close.bind(store);
    return Object.assign(store, {
      close: async () => {
        await close();
        rmSync(dir, { recursive: true, force: true });
      },
    });
  },
};

function postgres(): StoreBackend {
  let pg: TestPostgres | undefined;
  const started = (): TestPostgres => {
    if (pg === undefined) throw new Error('setUp() first');
    return pg;
  };
  return {
    name: 'PostgreSQL',
    engine: 'postgres',
    async setUp() {
      pg = await startTestPostgres();
    },
    async open() {
      await started().reset();
      return openPostgresMetadataStore(started().url, { poolSize: 4 });
    },
    async tearDown() {
      await pg?.stop();
    },
    openReplica: testPostgresIsServer() ? () => openPostgresMetadataStore(started().url, { poolSize: 2 }) : undefined,
  };
}

export function storeBackends(): StoreBackend[] {
  return [sqlite, postgres()];
}
