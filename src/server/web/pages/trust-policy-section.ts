/**
 * The workspace page's CI identity section: the trust policies (docs/ci-identity.md) with their rules in
 * words, and for those who may manage them the add form (rules as JSON, checked by the API's own schema) and
 * a delete button per policy.
 */
import { PRESETS, type CiProvider, type TrustPolicy, type TrustRule } from '../../ci-identity/trust-policy';
import type { Workspace } from '../../metadata/records';
import { html, type SafeHtml } from '../html';
import { csrfField, formatTime, type Viewer } from '../layout';

/** The add form's fields as typed: shown again, unchanged, when the server refuses them. */
export interface TrustPolicyFormValues {
  name: string;
  provider: string;
  issuer: string;
  audience: string;
  rules: string;
  jwksUrl: string;
  jwks: string;
  tokenLifetime: string;
}

export const TRUST_POLICY_FORM_FIELDS = [
  'name',
  'provider',
  'issuer',
  'audience',
  'rules',
  'jwksUrl',
  'jwks',
  'tokenLifetime',
] as const satisfies readonly (keyof TrustPolicyFormValues)[];

export interface TrustPolicyRow {
  policy: TrustPolicy;
  /** Who added it: a person's name, a token's, or null when nothing says. */
  createdBy: string | null;
}

export interface TrustPolicySection {
  rows: TrustPolicyRow[];
  /** `trust-policy.manage` on this workspace: the add form and the delete buttons. */
  canManage: boolean;
  form: TrustPolicyFormValues;
  /** A refusal of the last add, shown above the form with its stable code. */
  error?: { code: string; message: string };
}

const PROVIDER_CHOICES: { value: CiProvider; label: string }[] = [
  { value: 'github', label: 'GitHub Actions' },
  { value: 'gitlab', label: 'GitLab.com' },
  { value: 'custom', label: 'Another OIDC issuer (its URL below)' },
];

const OUTCOME_WORDS: Record<TrustRule['outcome'], string> = {
  trusted: 'trusted: reads and writes the shared tier',
  isolated: 'isolated: reads and writes only its own scope',
  'read-only': 'read-only: reads the shared tier, writes nothing',
  refused: 'refused',
};

function claimInWords(claim: string, pattern: string | string[]): string {
  const values = [pattern].flat();
  const exact = values.filter((v) => !v.endsWith('*'));
  const prefixes = values.filter((v) => v.endsWith('*')).map((v) => v.slice(0, -1));
  const parts = [
    ...(exact.length === 0 ? [] : [`is ${exact.join(' or ')}`]),
    ...(prefixes.length === 0 ? [] : [`starts with ${prefixes.join(' or ')}`]),
  ];
  return `${claim} ${parts.join(' or ')}`;
}

/** One rule as a sentence: `main: trusted: … when repository_id is 101, ref is refs/heads/main`. */
export function describeRule(rule: TrustRule): string {
  const outcome =
    rule.outcome === 'isolated'
      ? `${OUTCOME_WORDS.isolated} ${rule.scope ?? 'pr-{pr}, else branch-{branch}'}`
      : OUTCOME_WORDS[rule.outcome];
  const when = Object.entries(rule.claims).map(([claim, pattern]) => claimInWords(claim, pattern));
  return `${rule.name ? `${rule.name}: ` : ''}${outcome}${when.length === 0 ? ', any job' : ` when ${when.join(', ')}`}`;
}

function providerLabel(policy: TrustPolicy): string {
  if (policy.provider === 'custom') return 'OIDC issuer';
  const preset = PRESETS[policy.provider];
  return policy.issuer === preset.issuer ? preset.label : `${preset.label} (own server)`;
}

function keysInWords(policy: TrustPolicy): string {
  if (policy.jwks === null) return `keys fetched from ${policy.jwksUrl ?? '—'}`;
  const count = policy.jwks.keys.length;
  return `${count} key${count === 1 ? '' : 's'} stored in the policy (never fetched)`;
}

function policyCard(viewer: Viewer, ws: Workspace, row: TrustPolicyRow, canManage: boolean): SafeHtml {
  const { policy } = row;
  const remove = canManage
    ? html`<form method="post" action="/ui/workspaces/${ws.id}/trust-policies/${policy.id}/delete" data-confirm="Delete trust policy ${policy.name}? CI jobs it admits can no longer exchange their identity token; tokens already granted live out their lifetime.">${csrfField(viewer)}<button type="submit" class="small danger" aria-label="Delete trust policy ${policy.name}">Delete</button></form>`
    : '';
  return html`<article class="policy" data-trust-policy="${policy.name}" aria-labelledby="tp-${policy.id}"><div class="policy-head"><h3 id="tp-${policy.id}">${policy.name}</h3>${remove}</div>
<dl class="facts"><dt>Issuer</dt><dd>${providerLabel(policy)} <code>${policy.issuer}</code><br><span class="hint">${keysInWords(policy)}</span></dd>
<dt>Audience</dt><dd><code>${policy.audience}</code></dd>
<dt>Tokens live</dt><dd>${policy.tokenLifetime} from when the job's token was issued</dd>
<dt>Created</dt><dd>${formatTime(policy.createdAt)}${row.createdBy === null ? '' : html` by ${row.createdBy}`}</dd></dl>
<p class="rules-lead">Rules, the first that matches decides:</p><ol class="rules">${policy.rules.map((rule) => html`<li>${describeRule(rule)}</li>`)}<li class="hint">any other job: refused</li></ol></article>`;
}

function policyList(viewer: Viewer, ws: Workspace, section: TrustPolicySection): SafeHtml {
  if (section.rows.length === 0)
    return html`<p class="empty">No trust policies: every CI identity token is refused (deny by default).</p>`;
  return html`<p class="hint">A job's token is tried against the policies of its issuer and audience.</p>${section.rows.map((row) => policyCard(viewer, ws, row, section.canManage))}`;
}

const RULES_EXAMPLE = `[
  { "name": "main", "claims": { "repository_id": "123456789", "event_name": "push", "ref": "refs/heads/main" }, "outcome": "trusted" },
  { "name": "pull requests", "claims": { "repository_id": "123456789", "event_name": "pull_request" }, "outcome": "isolated", "scope": "pr-{pr}" }
]`;

function addForm(viewer: Viewer, ws: Workspace, section: TrustPolicySection): SafeHtml {
  const { form, error } = section;
  const keysOpen = form.jwksUrl !== '' || form.jwks !== '' || form.tokenLifetime !== '';
  return html`<h3 id="ci-identity-add">Add a trust policy</h3>
${error === undefined ? '' : html`<div class="notice error" role="alert" id="trust-policy-error"><strong><code>${error.code}</code></strong> ${error.message}<br><span class="hint">Nothing was added; the form below keeps what you typed.</span></div>`}
<form method="post" action="/ui/workspaces/${ws.id}/trust-policies#ci-identity-add" class="policy-form">${csrfField(viewer)}
<label for="tp-name">Policy name</label><input type="text" id="tp-name" name="name" maxlength="100" required value="${form.name}" placeholder="github">
<label for="tp-provider">Issuer</label><select id="tp-provider" name="provider">${PROVIDER_CHOICES.map((c) => html`<option value="${c.value}"${c.value === form.provider ? html` selected` : ''}>${c.label}</option>`)}</select>
<label for="tp-issuer">Issuer URL <span class="hint">(empty for the public GitHub Actions or GitLab.com issuer; GitHub Enterprise Server, self-managed GitLab or another issuer: its URL, which a server admin must list in <code>--ci-identity-issuers</code> unless the policy carries its keys)</span></label><input type="text" id="tp-issuer" name="issuer" maxlength="300" value="${form.issuer}" placeholder="https://ghes.example.com/_services/token">
<label for="tp-audience">Audience <span class="hint">(what the job asks its token for; the client asks for this server's origin unless <code>idTokenAudience</code> says otherwise)</span></label><input type="text" id="tp-audience" name="audience" maxlength="300" required value="${form.audience}">
<label for="tp-rules">Rules <span class="hint">(a JSON array, first match wins, no match is a refusal; each rule: <code>claims</code> that must all match, <code>outcome</code> trusted, isolated, read-only or refused, optional <code>scope</code> and <code>name</code>)</span></label><textarea id="tp-rules" name="rules" rows="8" required spellcheck="false" placeholder="${RULES_EXAMPLE}">${form.rules}</textarea>
<details${keysOpen ? html` open` : ''}><summary>Keys and token lifetime</summary>
<label for="tp-jwks-url">JWKS URL <span class="hint">(empty: the preset's path on the issuer; on the issuer's origin)</span></label><input type="text" id="tp-jwks-url" name="jwksUrl" maxlength="500" value="${form.jwksUrl}">
<label for="tp-jwks">Issuer's public keys <span class="hint">(air-gapped: a JWKS document, stored in the policy; the server then never fetches)</span></label><textarea id="tp-jwks" name="jwks" rows="4" spellcheck="false" placeholder='{ "keys": [ … ] }'>${form.jwks}</textarea>
<label for="tp-lifetime">Token lifetime <span class="hint">(like 30m or 1h, at most 12h; empty: 1h)</span></label><input type="text" id="tp-lifetime" name="tokenLifetime" maxlength="10" value="${form.tokenLifetime}" placeholder="1h">
</details>
<p><button type="submit" class="primary">Add trust policy</button></p></form>
<p class="hint">The server refuses a granting rule that does not pin the repository by its numeric id, and a trusted rule without a protected ref and event (docs/ci-identity.md); the CLI has the same policies: <code>nx-sealed-cache trust-policy</code>.</p>`;
}

export function trustPolicySection(viewer: Viewer, ws: Workspace, section: TrustPolicySection): SafeHtml {
  return html`<section class="card" aria-labelledby="ci-identity"><h2 id="ci-identity">CI identity</h2>
<p class="hint">CI jobs (GitHub Actions, GitLab CI) present their signed OIDC token and get a short-lived cache token whose tier follows these rules: no long-lived CI secret.</p>
${policyList(viewer, ws, section)}
${section.canManage ? addForm(viewer, ws, section) : html`<p class="hint">Only the organisation's admins add or delete trust policies.</p>`}</section>`;
}
