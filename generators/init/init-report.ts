/** Turns an nx.json before/after into sentences that say what changed and why. */
import type { NxJson } from '../../src/nx-config/nx-devkit';
import { findSealedCacheWiring, PACKAGE_NAME } from '../../src/nx-config/nx-json-wiring';
import { formatNxVersion, type IntegrationPath, type NxVersion } from '../../src/nx-config/nx-version';

export function describeChanges(before: NxJson, after: NxJson, path: IntegrationPath, version: NxVersion): string[] {
  const was = findSealedCacheWiring(before);
  const now = findSealedCacheWiring(after);
  const nx = `Nx ${formatNxVersion(version)}`;
  const changes: string[] = [];
  if (path === 'runner') {
    if (!was.runnerNames.includes('default')) {
      changes.push(
        `Set tasksRunnerOptions.default.runner to "${PACKAGE_NAME}": ${nx} plugs a remote cache in through a custom tasks runner.`,
      );
    }
    if (was.pluginIndexes.length > 0) {
      changes.push(
        `Removed the "${PACKAGE_NAME}" plugin entry: its sealing proxy needs Nx 20.8 or later; its options moved to the runner.`,
      );
    }
    if (before.useLegacyCache !== true && after.useLegacyCache === true) {
      changes.push(
        `Set "useLegacyCache": true: Nx 20 only calls a custom runner's remote cache with the legacy cache.`,
      );
    }
  } else {
    if (was.pluginIndexes.length === 0) {
      changes.push(
        `Added the "${PACKAGE_NAME}" plugin: on ${nx} its preTasksExecution hook starts a local sealing proxy and points Nx's built-in HTTP cache at it.`,
      );
    } else if (was.pluginIndexes.length > 1) {
      changes.push(`Merged ${was.pluginIndexes.length} "${PACKAGE_NAME}" plugin entries into one.`);
    }
    if (was.runnerNames.length > 0) {
      changes.push(
        `Removed the "${PACKAGE_NAME}" tasks runner: ${nx} has the plugin path, and Nx 21 drops custom runners; its options moved to the plugin.`,
      );
    }
    if (before.useLegacyCache === true && after.useLegacyCache === undefined) {
      changes.push(`Removed "useLegacyCache": Nx's built-in HTTP cache only works with the database cache.`);
    }
  }
  const setKeys = Object.keys(now.options).filter(
    (key) => JSON.stringify(now.options[key]) !== JSON.stringify(was.options[key]),
  );
  if (setKeys.length > 0) changes.push(`Set option(s) ${setKeys.map((key) => `"${key}"`).join(', ')}.`);
  return changes;
}

export function describeNextSteps(options: Record<string, unknown>, keyNeedsSecret: boolean): string[] {
  const steps: string[] = [];
  if (typeof options.url !== 'string') {
    steps.push('No "url" in nx.json: set NX_SEALED_CACHE_URL on every machine and in CI, or rerun with --url.');
  }
  steps.push('CI: put a CI access token in the NX_SEALED_CACHE_ACCESS_TOKEN secret (never in nx.json).');
  // Browser login gives a token for one workspace: without the id in nx.json it has to be typed.
  const hasWorkspace = typeof options.workspaceId === 'string';
  steps.push(
    `Developers: run \`npx nx-sealed-cache login${hasWorkspace ? '' : ' --workspace ws_…'}\` once per machine, then \`npx nx-sealed-cache doctor\` to check.`,
  );
  if (!hasWorkspace) {
    steps.push(
      'No "workspaceId": `login` then needs --workspace, and machines with no token cannot use the cache anonymously. Rerun with --workspaceId=ws_… (`workspace list` shows it).',
    );
  }
  if (typeof options.token === 'string') {
    steps.push(
      'nx.json holds a committed token: run `nx g nx-sealed-cache:convert-to-id` to replace it with the workspace id.',
    );
  }
  if (keyNeedsSecret)
    steps.push(
      'Set NX_SEALED_CACHE_ENCRYPTION_KEY (printed above) in CI secrets and on each machine before the next run.',
    );
  return steps;
}
