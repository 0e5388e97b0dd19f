/**
 * `nx g nx-sealed-cache:init` (and `nx add nx-sealed-cache`): wires the cache into nx.json the
 * way the installed Nx can use it, and says what it did. Writes only through the tree (dry runs).
 */
import { generateEncryptionKey } from '../../src/crypto/keys';
import { WORKSPACE_STATE_PATHS, addGitignoreEntries } from '../shared/gitignore';
import {
  loadDevkit,
  type GeneratorLogger,
  type NxJson,
  type NxJsonAccess,
  type WorkspaceTree,
} from '../../src/nx-config/nx-devkit';
import { findSealedCacheWiring, wirePlugin, wireRunner } from '../../src/nx-config/nx-json-wiring';
import {
  chooseIntegrationPath,
  detectNxVersion,
  formatNxVersion,
  type IntegrationPath,
  type NxVersion,
} from '../../src/nx-config/nx-version';
import { SealedCacheError } from '../../src/errors';
import { readJsonText, textNxJsonAccess, writeJsonText } from '../../src/nx-config/json-text';
import { NX_CLOUD_ENV_FILE, findOtherCaches, type OtherCacheFinding } from '../../src/nx-config/other-caches';
import {
  removeOtherCachesFromNxJson,
  removeOtherCachesFromPackageJson,
} from '../../src/nx-config/other-caches-removal';
import { describeChanges, describeNextSteps } from './init-report';
import { askToReplace } from './confirm-replace';
import { describeFindings, describeMoveSteps, refusalMessage } from './other-caches-report';
import { parseInitOptions, requireServerUrl, type InitOptions } from './init-options';
import type { InitGeneratorSchema } from './schema';
import { mergeTrustedSigners, parseTrustedSignerList } from './trusted-signers';
import { generateSigningKey, type GeneratedSigningKey } from '../../src/crypto/signing-keys';

export interface InitResult {
  nxVersion: NxVersion;
  path: IntegrationPath;
  /** What changed in the workspace, one sentence each, with the reason. */
  changes: string[];
  /** What the user still has to do. */
  nextSteps: string[];
  /** Other remote caches found (and, with consent, taken out). */
  replaced: OtherCacheFinding[];
  /** Set only with `--encryption generate`; shown once, never logged elsewhere. */
  generatedKey?: string;
  keyStoredInNxJson: boolean;
  /** Set only with `--signing generate`: the private key is shown once; its public key went into nx.json. */
  generatedSigningKey?: GeneratedSigningKey;
}

export async function initGenerator(
  tree: WorkspaceTree,
  schema: InitGeneratorSchema,
  ask: (question: string) => Promise<boolean> = askToReplace,
): Promise<void> {
  const devkit = loadDevkit();
  const found = findOtherCaches(
    textNxJsonAccess.readNxJson(tree) ?? {},
    readJsonText(tree, 'package.json') ?? undefined,
  );
  const replaceExisting =
    schema.replaceExisting === true ||
    (found.length > 0 && (await ask(`Remove ${describeFindings(found).join('; ')} and use nx-sealed-cache instead?`)));
  const result = applyInit(tree, { ...schema, replaceExisting }, textNxJsonAccess);
  printInitResult(result, devkit.logger);
}

export default initGenerator;

export function applyInit(
  tree: WorkspaceTree,
  schema: InitGeneratorSchema,
  nxJsonAccess: NxJsonAccess,
  makeKey: () => string = generateEncryptionKey,
  makeSigningKey: () => GeneratedSigningKey = generateSigningKey,
  env: Readonly<Record<string, string | undefined>> = process.env,
): InitResult {
  const options = parseInitOptions(schema);
  const nxVersion = detectNxVersion(tree, options.nxVersion);
  const path = chooseIntegrationPath(nxVersion);
  const before = nxJsonAccess.readNxJson(tree) ?? {};
  const packageJson = readJsonText(tree, 'package.json');
  const replaced = findOtherCaches(before, packageJson ?? undefined);
  if (replaced.length > 0 && !options.replaceExisting)
    throw new SealedCacheError('ERR_INIT_OTHER_CACHE', refusalMessage(replaced));
  const withoutOthers = replaced.length > 0 ? removeOtherCachesFromNxJson(before) : before;
  const wiring = findSealedCacheWiring(withoutOthers);

  const { ours, generatedKey, keyStoredInNxJson } = chooseOptions(options, wiring.options, makeKey);
  const generatedSigningKey = options.signing === 'generate' ? makeSigningKey() : undefined;
  const signers = mergeTrustedSigners(ours.trustedSigners, [
    ...parseTrustedSignerList(options.trustedSigners),
    ...parseTrustedSignerList(generatedSigningKey?.publicKeyText),
  ]);
  if (signers) ours.trustedSigners = signers;
  requireServerUrl(options.url, ours.url, env);
  const after =
    path === 'runner' ? wireRunner(withoutOthers, ours, nxVersion.major === 20) : wirePlugin(withoutOthers, ours);
  if (JSON.stringify(after) !== JSON.stringify(before)) writeNxJson(tree, after, nxJsonAccess);
  const packageChanges = packageJson && replaced.length > 0 ? removeFromPackageJson(tree, packageJson) : [];

  const ignored = addGitignoreEntries(tree, WORKSPACE_STATE_PATHS);
  const changes = [
    ...replaced.map(
      (finding) =>
        `Removed ${finding.label} (${finding.locations.join(', ')}): Nx would otherwise use it instead of, or beside, nx-sealed-cache.`,
    ),
    ...packageChanges,
    ...describeChanges(withoutOthers, after, path, nxVersion),
    ...ignored.map((entry) => `Added ${entry} to .gitignore (local state of nx-sealed-cache).`),
  ];
  const ourOptions = findSealedCacheWiring(after).options;
  return {
    nxVersion,
    path,
    changes,
    replaced,
    nextSteps: [
      ...describeNextSteps(ourOptions, generatedKey !== undefined && !keyStoredInNxJson),
      ...(replaced.length > 0
        ? describeMoveSteps(replaced, typeof ourOptions.workspaceId === 'string' ? ourOptions.workspaceId : undefined)
        : []),
      ...(tree.exists(NX_CLOUD_ENV_FILE)
        ? [
            `Delete ${NX_CLOUD_ENV_FILE} by hand (and from git): Nx reads Nx Cloud credentials from it, so runs would still try Nx Cloud.`,
          ]
        : []),
    ],
    ...(generatedKey ? { generatedKey } : {}),
    keyStoredInNxJson,
    ...(generatedSigningKey ? { generatedSigningKey } : {}),
  };
}

/** Existing options stay; flags the user passed win; a stored key is reused rather than replaced. */
function chooseOptions(options: InitOptions, existing: Record<string, unknown>, makeKey: () => string) {
  const ours: Record<string, unknown> = { ...existing };
  if (options.url) ours.url = options.url;
  if (options.workspaceId) ours.workspaceId = options.workspaceId;
  if (options.encryption !== 'generate') return { ours, keyStoredInNxJson: false };
  if (options.storeKeyInNxJson && typeof existing.encryptionKey === 'string') return { ours, keyStoredInNxJson: true };
  const generatedKey = makeKey();
  if (options.storeKeyInNxJson) ours.encryptionKey = generatedKey;
  return { ours, generatedKey, keyStoredInNxJson: options.storeKeyInNxJson };
}

function removeFromPackageJson(tree: WorkspaceTree, packageJson: Record<string, unknown>): string[] {
  const next = removeOtherCachesFromPackageJson(packageJson);
  if (JSON.stringify(next) === JSON.stringify(packageJson)) return [];
  writeJsonText(tree, 'package.json', next);
  return [
    'Removed the old cache packages from package.json: run your package manager (e.g. `npm install`) to update the lockfile.',
  ];
}

function writeNxJson(tree: WorkspaceTree, nxJson: NxJson, access: NxJsonAccess): void {
  // updateNxJson only edits an existing file, so a workspace without nx.json gets a new one.
  if (tree.exists('nx.json')) access.updateNxJson(tree, nxJson);
  else tree.write('nx.json', `${JSON.stringify(nxJson, null, 2)}\n`);
}

export function printInitResult(result: InitResult, logger: GeneratorLogger): void {
  logger.info(
    `nx-sealed-cache: Nx ${formatNxVersion(result.nxVersion)} (from ${result.nxVersion.source}) -> ${result.path === 'runner' ? 'tasks runner' : 'plugin with the sealing proxy'}.`,
  );
  for (const found of describeFindings(result.replaced))
    logger.warn(`nx-sealed-cache: found another remote cache, ${found}`);
  for (const change of result.changes.length > 0
    ? result.changes
    : ['nx.json was already set up for this Nx version; nothing changed.']) {
    logger.info(`  - ${change}`);
  }
  if (result.generatedKey) printGeneratedKey(result.generatedKey, result.keyStoredInNxJson, logger);
  if (result.generatedSigningKey) printGeneratedSigningKey(result.generatedSigningKey, logger);
  if (result.nextSteps.length > 0) logger.info('Next steps:');
  for (const step of result.nextSteps) logger.info(step.startsWith('  ') ? `    ${step.trim()}` : `  - ${step}`);
}

/** The one place a key value is printed: the user asked for a new key and must copy it now. */
function printGeneratedKey(key: string, storedInNxJson: boolean, logger: GeneratorLogger): void {
  if (storedInNxJson) {
    logger.warn(
      'WARNING: the encryption key was written into nx.json. Anyone who can read this repository can read and forge cache entries. ' +
        'Prefer removing "encryptionKey" from nx.json and setting NX_SEALED_CACHE_ENCRYPTION_KEY instead.',
    );
    return;
  }
  logger.info('New encryption key (shown once, not written anywhere):');
  logger.info(`  ${key}`);
  logger.info(
    'Store it as the NX_SEALED_CACHE_ENCRYPTION_KEY secret in CI and on each developer machine. ' +
      'Everyone sharing the cache needs the same key; if a key is already in use, keep that one and ignore this one.',
  );
}

/** The one place init prints a signing key: only the trusted CI job may hold it, so it goes into no file. */
function printGeneratedSigningKey(key: GeneratedSigningKey, logger: GeneratorLogger): void {
  logger.info(
    `New signing key ${key.keyId} (private key shown once, not written anywhere; its public key is in trustedSigners):`,
  );
  logger.info(`  ${key.privateKeyText}`);
  logger.info(
    'Store it as the NX_SEALED_CACHE_SIGNING_KEY secret of the trusted CI job only (the one that writes what main reads). ' +
      'From now on, readers accept only entries that a listed key signed.',
  );
}
