/** Sentences about the remote caches `init` found beside ours: what they are, what goes, what CI must drop. */
import type { OtherCacheFinding } from '../../src/nx-config/other-caches';
import { committedSecretSteps } from '../shared/committed-secret-steps';

export const REPLACE_FLAG = '--replace-existing';

/** One line per cache, naming every place it is configured. */
export function describeFindings(findings: readonly OtherCacheFinding[]): string[] {
  return findings.map((finding) => `${finding.label}: ${finding.locations.join(', ')}`);
}

export function refusalMessage(findings: readonly OtherCacheFinding[]): string {
  return (
    `another remote cache is configured, and Nx would use it instead of (or beside) nx-sealed-cache: ${describeFindings(findings).join('; ')}. ` +
    `Nothing was changed. Rerun with ${REPLACE_FLAG} to remove it from nx.json and package.json (add --dry-run to see the plan first), or answer yes at the prompt.`
  );
}

/** What CI and the old provider need after the replacement; never a secret's value. */
export function describeMoveSteps(findings: readonly OtherCacheFinding[], workspaceId: string | undefined): string[] {
  const steps: string[] = [];
  const variables = [...new Set(findings.flatMap((finding) => finding.ciVariables))];
  if (variables.length > 0)
    steps.push(
      `CI: delete these secret variables once the new setup works (nothing reads them any more): ${variables.join(', ')}.`,
    );
  for (const finding of findings) steps.push(`${finding.label}: ${finding.revoke}.`);
  const exposed = findings.flatMap((finding) => finding.exposed);
  if (exposed.length > 0) {
    steps.push(
      `Exposed: ${exposed.map((secret) => `${secret.location} (sha256 ${secret.fingerprint}…)`).join(', ')} ${exposed.length === 1 ? 'was' : 'were'} committed; treat ${exposed.length === 1 ? 'it' : 'them'} as public and revoke at the old provider.`,
      ...committedSecretSteps(workspaceId),
    );
  }
  const keys = findings.flatMap((finding) => finding.encryptionKeys);
  if (keys.length > 0) {
    steps.push(
      `Encryption: ${keys.join(', ')} ${keys.length === 1 ? 'is' : 'are'} not reused (another format, and possibly committed); create a key with \`nx g nx-sealed-cache:init --encryption generate\` and store it as NX_SEALED_CACHE_ENCRYPTION_KEY.`,
    );
  }
  steps.push(...tokenSteps(findings, workspaceId));
  return steps;
}

/** The tokens to create here, by CI tier (docs/tiers.md), matching the old read/read-write split. */
function tokenSteps(findings: readonly OtherCacheFinding[], workspaceId: string | undefined): string[] {
  const ws = workspaceId ?? '$WS';
  const split = findings.filter((finding) => finding.readWriteSplit).map((finding) => finding.label);
  return [
    ...(split.length > 0
      ? [`${split.join(', ')} separated read-only from read-write access; the matching setup here (docs/tiers.md):`]
      : ['Tokens to create here (docs/tiers.md):']),
    `  main branch CI${split.length > 0 ? ' (was the read-write secret)' : ''}: \`nx-sealed-cache token create --kind ci --workspace ${ws} --access read-write --tier trusted --name main\``,
    `  pull requests: mint an isolated token per run from the trusted one, \`nx-sealed-cache token mint --scope pr-<number> --expires-in 2h\`, or share \`nx-sealed-cache token create --kind ci --workspace ${ws} --access read --name pull-requests\``,
    `  other readers${split.length > 0 ? ' (was the read-only token)' : ''}: \`nx-sealed-cache token create --kind ci --workspace ${ws} --access read --name read-only\`; developers \`nx-sealed-cache login\`, or \`nx-sealed-cache workspace set ${ws} --anonymous read\` for reads with the workspace id.`,
    'Check with `npx nx-sealed-cache doctor` (it warns if another cache is still configured) and the run summary after the next `nx run-many`.',
  ];
}
