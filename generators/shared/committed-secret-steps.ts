/** What to do once a credential was committed: shared by `convert-to-id` (ours) and `init` (another cache's). */
export function committedSecretSteps(workspaceId: string | undefined): string[] {
  const id = workspaceId ?? '<workspace-id>';
  return [
    'Each developer: run `npx nx-sealed-cache login` to store a personal access token outside the repository.',
    'CI: move the token into the NX_SEALED_CACHE_ACCESS_TOKEN secret (it wins over everything else).',
    'The old token is still in git history: rotate or revoke it once CI uses the secret.',
    `Admin: anyone with the id now gets the workspace's anonymous access level; consider lowering it with \`nx-sealed-cache workspace set ${id} --anonymous none\` (or \`read\`).`,
  ];
}
