/** Gives a test workspace the usual GitHub trust policy through the real CLI: main pushes trusted, pull requests isolated. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BootstrappedWorkspace, cli } from './cli';
import { MAIN_PUSH } from './oidc-issuer';

export async function addGithubTrustPolicy(
  boot: BootstrappedWorkspace,
  issuerUrl: string,
  audience: string,
  scratchDir: string,
): Promise<void> {
  const repositoryId = String(MAIN_PUSH.repositoryId);
  const rules = join(scratchDir, 'rules.json');
  writeFileSync(
    rules,
    JSON.stringify([
      {
        name: 'main',
        claims: { repository_id: repositoryId, event_name: 'push', ref: 'refs/heads/main' },
        outcome: 'trusted',
      },
      {
        name: 'pull requests',
        claims: { repository_id: repositoryId, event_name: 'pull_request' },
        outcome: 'isolated',
      },
    ]),
  );
  const args = ['trust-policy', 'add', boot.workspace.id, '--name', 'github', '--provider', 'github'];
  await cli([...args, '--issuer', issuerUrl, '--audience', audience, '--rules', rules], boot.target);
}
