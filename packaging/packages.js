/**
 * The two npm packages built from this one source tree (docs/packages.md). The root package.json is the
 * development manifest (every dependency, the scripts, the dev tools); each published manifest is derived
 * from it here, so versions are written once.
 *
 * - nx-sealed-cache: what a workspace installs. The plugin, the Nx 17–20 runner, the sealing proxy, the
 *   generators and executor, and the CLI; the server's commands in it hand over to nx-sealed-cache-server.
 * - nx-sealed-cache-server: the server, with every dependency it needs, and the same CLI.
 */
/** What the client code imports (eslint.config.mjs refuses the rest in the client's folders). */
const CLIENT_DEPENDENCIES = ['commander', 'jsonc-parser', 'tar-stream', 'undici', 'zod'];

/** Files of dist/src that only the server needs (src/cli/server-gateway.ts loads them when present). */
const SERVER_ONLY_PATHS = [
  /^dist\/src\/server\//,
  /^dist\/src\/cli\/(server-commands|backup-client)\.(js|d\.ts|js\.map)$/,
  /^dist\/src\/cli\/commands\/(admin|backup|serve|storage)\.(js|d\.ts|js\.map)$/,
];

/** What the README links to, in both packages. */
const DOCUMENTS = [
  'README.md',
  'LICENSE',
  'ARCHITECTURE.md',
  'CONTRIBUTING.md',
  'CHANGELOG.md',
  'docs/*.md',
  'docs/images/*.png',
];

function pick(from, names) {
  return Object.fromEntries(
    names.map((name) => {
      if (!from[name]) throw new Error(`packaging: ${name} is not a dependency in package.json`);
      return [name, from[name]];
    }),
  );
}

/** Root dependencies that only the server uses. */
function serverOnlyDependencies(root) {
  return Object.keys(root.dependencies).filter((name) => !CLIENT_DEPENDENCIES.includes(name));
}

function common(root) {
  const { version, license, repository, engines } = root;
  return { version, license, repository, engines };
}

/** The published manifests and the repository paths each ships (a path is a file or a folder). */
function packageDefinitions(root) {
  return [
    {
      manifest: {
        name: 'nx-sealed-cache',
        ...common(root),
        description: root.description,
        main: root.main,
        types: root.types,
        bin: root.bin,
        generators: root.generators,
        executors: root.executors,
        peerDependencies: { ...root.peerDependencies, 'nx-sealed-cache-server': root.version },
        peerDependenciesMeta: { ...root.peerDependenciesMeta, 'nx-sealed-cache-server': { optional: true } },
        dependencies: pick(root.dependencies, CLIENT_DEPENDENCIES),
      },
      paths: [
        'dist/src',
        'dist/generators',
        'dist/executors',
        'generators.json',
        'executors.json',
        ...['generators', 'executors'].map((dir) => `${dir}/*/schema.json`),
        ...DOCUMENTS,
      ],
      exclude: (path) => SERVER_ONLY_PATHS.some((pattern) => pattern.test(path)),
    },
    {
      manifest: {
        name: 'nx-sealed-cache-server',
        ...common(root),
        description:
          'The nx-sealed-cache server: a self-hosted remote cache for Nx with scoped tokens, write tiers and sealed artifacts.',
        main: 'dist/src/server/app.js',
        types: 'dist/src/server/app.d.ts',
        bin: { 'nx-sealed-cache-server': 'dist/src/cli/main.js' },
        // An override holds only in the root project, so the published server pins the same versions directly.
        dependencies: { ...root.dependencies, ...root.overrides },
      },
      paths: ['dist/src', ...DOCUMENTS],
      exclude: () => false,
    },
  ];
}

/** A pattern is a file, a folder (everything under it), or a glob whose `*` stays within one path segment. */
function matchesPath(path, pattern) {
  if (!pattern.includes('*')) return path === pattern || path.startsWith(`${pattern}/`);
  const regex = new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*')}$`,
  );
  return regex.test(path);
}

module.exports = {
  CLIENT_DEPENDENCIES,
  SERVER_ONLY_PATHS,
  packageDefinitions,
  serverOnlyDependencies,
  matchesPath,
};
