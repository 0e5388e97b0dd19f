import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { findOtherCaches, fingerprint } from '../../../src/nx-config/other-caches';
import {
  removeOtherCachesFromNxJson,
  removeOtherCachesFromPackageJson,
} from '../../../src/nx-config/other-caches-removal';
import { readJsonText, writeJsonText } from '../../../src/nx-config/json-text';

const CLOUD_TOKEN = 'NzQ0ZjYyMjQtYjFkYS00ODc4LTk0ZjYtNTVhM2ExZDQ2YzZifHJlYWQ=';

describe('findOtherCaches', () => {
  it('finds Nx Cloud on Nx 21-24 (nxCloudId + committed nxCloudAccessToken) without printing the token', () => {
    const [cloud, ...rest] = findOtherCaches({ nxCloudId: '65f0c0ffee', nxCloudAccessToken: CLOUD_TOKEN }, undefined);
    expect(rest).toEqual([]);
    expect(cloud).toMatchObject({
      provider: 'nx-cloud',
      locations: ['nx.json nxCloudAccessToken', 'nx.json nxCloudId'],
      readWriteSplit: true,
    });
    expect(cloud?.exposed).toEqual([{ location: 'nx.json nxCloudAccessToken', fingerprint: fingerprint(CLOUD_TOKEN) }]);
    expect(JSON.stringify(cloud)).not.toContain(CLOUD_TOKEN);
    expect(cloud?.ciVariables).toContain('NX_CLOUD_ACCESS_TOKEN');
  });

  it.each(['nx-cloud', '@nrwl/nx-cloud'])(
    'finds the %s runner of Nx 17-20 with its accessToken and encryption key',
    (runner) => {
      const [cloud] = findOtherCaches(
        {
          tasksRunnerOptions: {
            default: {
              runner,
              options: { accessToken: CLOUD_TOKEN, encryptionKey: 'k', cacheableOperations: ['build'] },
            },
          },
        },
        { devDependencies: { [runner]: '^16.0.0' } },
      );
      expect(cloud?.provider).toBe('nx-cloud');
      expect(cloud?.locations).toEqual([
        `nx.json tasksRunnerOptions.default (runner "${runner}")`,
        `package.json devDependencies "${runner}"`,
      ]);
      expect(cloud?.exposed.map((secret) => secret.location)).toEqual([
        'nx.json tasksRunnerOptions.default.options.accessToken',
      ]);
      expect(cloud?.encryptionKeys).toEqual(['nx.json tasksRunnerOptions.default.options.encryptionKey']);
    },
  );

  it('finds an accessToken under the default runner, which Nx 21+ treats as Nx Cloud', () => {
    const [cloud] = findOtherCaches(
      {
        tasksRunnerOptions: { default: { runner: 'nx/tasks-runners/default', options: { accessToken: CLOUD_TOKEN } } },
      },
      undefined,
    );
    expect(cloud?.locations).toEqual(['nx.json tasksRunnerOptions.default.options.accessToken']);
  });

  it.each([
    [
      's3',
      '@nx/s3-cache',
      's3-cache',
      { bucket: 'b', region: 'eu-west-1', secretAccessKey: 'AKsecret', encryptionKey: 'enc' },
    ],
    ['gcs', '@nx/gcs-cache', 'gcs-cache', { bucket: 'b' }],
    [
      'azure',
      '@nx/azure-cache',
      'azure-cache',
      { container: 'c', accountName: 'a', localMode: 'read', ciMode: 'read-write' },
    ],
  ] as const)('finds the %s adapter from its nx.json key and its package', (key, pkg, provider, section) => {
    const [found, ...rest] = findOtherCaches({ [key]: section }, { devDependencies: { [pkg]: '^4.0.0' } });
    expect(rest).toEqual([]);
    expect(found).toMatchObject({ provider, locations: [`nx.json ${key}`, `package.json devDependencies "${pkg}"`] });
    expect(found?.readWriteSplit).toBe(key === 'azure');
    if (key === 's3') {
      expect(found?.exposed.map((secret) => secret.location)).toEqual([
        'nx.json s3.secretAccessKey',
        'nx.json s3.encryptionKey',
      ]);
      expect(found?.encryptionKeys).toEqual(['nx.json s3.encryptionKey']);
      expect(found?.ciVariables).toContain('AWS_SECRET_ACCESS_KEY');
    }
  });

  it('finds @nx/shared-fs-cache from package.json alone (it has no nx.json key)', () => {
    expect(findOtherCaches({}, { devDependencies: { '@nx/shared-fs-cache': '^4.0.0' } })).toMatchObject([
      { provider: 'shared-fs-cache' },
    ]);
  });

  it.each([
    'nx-remotecache-custom',
    'nx-remotecache-s3',
    'nx-remotecache-azure',
    'nx-remotecache-minio',
    '@pellegrims/nx-remotecache-s3',
  ])('finds the %s runner and its credential-looking options by name only', (runner) => {
    const options = {
      url: 'https://minio.example',
      accessKey: 'minio-ak',
      secretAccessKey: 'minio-sk',
      cacheEncryptionKey: 'enc',
      readOnly: true,
      cacheableOperations: ['build'],
    };
    const [found] = findOtherCaches({ tasksRunnerOptions: { default: { runner, options } } }, undefined);
    expect(found).toMatchObject({ provider: 'custom-runner', label: `the ${runner} runner`, readWriteSplit: true });
    expect(found?.exposed.map((secret) => secret.location)).toEqual(
      ['accessKey', 'secretAccessKey', 'cacheEncryptionKey'].map(
        (key) => `nx.json tasksRunnerOptions.default.options.${key}`,
      ),
    );
    expect(found?.encryptionKeys).toEqual(['nx.json tasksRunnerOptions.default.options.cacheEncryptionKey']);
    expect(JSON.stringify(found)).not.toMatch(/minio-ak|minio-sk|"enc"/);
  });

  it('finds nothing in a workspace wired only for nx-sealed-cache', () => {
    const nxJson = {
      tasksRunnerOptions: { default: { runner: 'nx-sealed-cache', options: { url: 'https://c', token: 'x' } } },
      plugins: ['nx-sealed-cache'],
      targetDefaults: {},
    };
    expect(findOtherCaches(nxJson, { devDependencies: { nx: '24.0.6', 'nx-sealed-cache': '0.1.0' } })).toEqual([]);
  });
});

describe('removing other caches', () => {
  it('keeps Nx options of the runner and drops the cache runner, its options and every Nx Cloud key', () => {
    const nxJson = {
      nxCloudId: 'id',
      nxCloudAccessToken: CLOUD_TOKEN,
      s3: { bucket: 'b' },
      plugins: ['@nx/js/typescript', '@nx/s3-cache'],
      tasksRunnerOptions: {
        default: {
          runner: 'nx-remotecache-custom',
          options: { url: 'u', secretAccessKey: 's', cacheableOperations: ['build'], parallel: 3 },
        },
      },
      targetDefaults: { build: { cache: true } },
    };
    const after = removeOtherCachesFromNxJson(nxJson);
    expect(after).toEqual({
      plugins: ['@nx/js/typescript'],
      tasksRunnerOptions: { default: { options: { cacheableOperations: ['build'], parallel: 3 } } },
      targetDefaults: { build: { cache: true } },
    });
    expect(findOtherCaches(after, undefined)).toEqual([]);
    expect(removeOtherCachesFromNxJson(after)).toEqual(after);
  });

  it('drops the old packages from package.json and nothing else', () => {
    const pkg = {
      name: 'ws',
      devDependencies: {
        nx: '20.0.0',
        'nx-cloud': '19.0.0',
        '@nx/s3-cache': '4.0.0',
        'nx-remotecache-custom': '19.0.0',
        'nx-sealed-cache': '0.1.0',
      },
      dependencies: { lodash: '4' },
    };
    expect(removeOtherCachesFromPackageJson(pkg)).toEqual({
      name: 'ws',
      devDependencies: { nx: '20.0.0', 'nx-sealed-cache': '0.1.0' },
      dependencies: { lodash: '4' },
    });
  });
});

describe('json-text edits', () => {
  it('changes only the edited properties, keeping comments and the formatting of the rest byte for byte', () => {
    const tree = createTreeWithEmptyWorkspace();
    const original =
      '{\n    // why the cache dir\n    "cacheDirectory": "tmp/cache",\n    "nxCloudId": "abc",\n    "namedInputs": { "default": ["{projectRoot}/**/*"] }\n}\n';
    tree.write('nx.json', original);
    const json = readJsonText(tree, 'nx.json') ?? {};
    delete json.nxCloudId;
    writeJsonText(tree, 'nx.json', json);
    expect(tree.read('nx.json', 'utf-8')).toBe(
      '{\n    // why the cache dir\n    "cacheDirectory": "tmp/cache",\n    "namedInputs": { "default": ["{projectRoot}/**/*"] }\n}\n',
    );
    writeJsonText(tree, 'nx.json', { ...json, plugins: ['nx-sealed-cache'] });
    expect(tree.read('nx.json', 'utf-8')).toContain(
      '    "namedInputs": { "default": ["{projectRoot}/**/*"] },\n    "plugins": [\n        "nx-sealed-cache"\n    ]\n}',
    );
  });

  it('refuses a file that is not a JSON object, naming the problem', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('nx.json', '{ "a": ');
    expect(() => readJsonText(tree, 'nx.json')).toThrow(/nx.json is not a JSON object/);
  });
});
