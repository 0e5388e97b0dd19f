/**
 * Trust policies: which CI jobs, proven by their issuer's signed identity token, get which cache access.
 * Pure: the shape an admin may store (checked when stored) and the decision for one set of verified claims.
 * Deny by default; repositories are matched by numeric ids (names can be re-registered); a trusted write
 * needs a protected ref and an event that runs the repository's own code on it.
 */
import { z } from 'zod';
import { SealedCacheError } from '../../errors';
import { SCOPE_PATTERN } from '../tiers/write-tier';
import { type IssuerControl, normalizeIssuer } from './issuer-allowlist';

export const CI_PROVIDERS = ['github', 'gitlab', 'custom'] as const;
export type CiProvider = (typeof CI_PROVIDERS)[number];
export const OUTCOMES = ['trusted', 'isolated', 'read-only', 'refused'] as const;
export type Outcome = (typeof OUTCOMES)[number];

interface Preset {
  issuer: string;
  jwksPath: string;
  /** Claims naming the repository (or its owner) by a number that is never reused. */
  repositoryClaims: readonly string[];
  /** The claims recorded with every grant, in the audit log and provenance. */
  grantClaims: readonly string[];
  label: string;
}

export const PRESETS: Record<Exclude<CiProvider, 'custom'>, Preset> = {
  github: {
    issuer: 'https://token.actions.githubusercontent.com',
    jwksPath: '/.well-known/jwks',
    repositoryClaims: ['repository_id', 'repository_owner_id'],
    grantClaims: [
      'repository',
      'repository_id',
      'ref',
      'event_name',
      'run_id',
      'run_attempt',
      'actor',
      'sha',
      'workflow_ref',
    ],
    label: 'GitHub Actions',
  },
  gitlab: {
    issuer: 'https://gitlab.com',
    jwksPath: '/oauth/discovery/keys',
    repositoryClaims: ['project_id', 'namespace_id'],
    grantClaims: [
      'project_path',
      'project_id',
      'ref',
      'ref_protected',
      'pipeline_source',
      'pipeline_id',
      'job_id',
      'user_login',
      'sha',
    ],
    label: 'GitLab CI',
  },
};
const CUSTOM_GRANT_CLAIMS = ['sub', 'repository', 'ref', 'event_name', 'run_id', 'actor'];

/** GitHub events that run the repository's own workflow on the ref they name (never pull_request*). */
export const GITHUB_TRUSTED_EVENTS: readonly string[] = ['push', 'workflow_dispatch', 'schedule'];

const ClaimName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'a claim name');
const ClaimPattern = z.string().min(1).max(300);
export const TrustRule = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  /** Every listed claim must match: one value or any of a list; a value ending in `*` matches by prefix. */
  claims: z.record(ClaimName, z.union([ClaimPattern, z.array(ClaimPattern).min(1).max(50)])),
  outcome: z.enum(OUTCOMES),
  /** Isolated only: the scope, with `{pr}`, `{branch}` or `{<claim>}` placeholders; default `pr-{pr}` or `branch-{branch}`. */
  scope: z.string().min(1).max(100).optional(),
});
export type TrustRule = z.infer<typeof TrustRule>;

const LIFETIME_PATTERN = /^([1-9]\d{0,3})(m|h)$/;
export const DEFAULT_TOKEN_LIFETIME = '1h';
const MAX_TOKEN_LIFETIME_MS = 12 * 3_600_000;

export function lifetimeMs(lifetime: string): number {
  const match = LIFETIME_PATTERN.exec(lifetime);
  if (!match) throw new SealedCacheError('ERR_INPUT_INVALID', `token lifetime "${lifetime}" is not like 30m or 1h`);
  return Number(match[1]) * (match[2] === 'm' ? 60_000 : 3_600_000);
}

export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(100) });

export const NewTrustPolicyBody = z.strictObject({
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-"'),
  provider: z.enum(CI_PROVIDERS),
  /** Default: the provider's public issuer. GitHub Enterprise Server and self-managed GitLab name their own. */
  issuer: z.string().url().max(300).optional(),
  audience: z.string().min(1).max(300),
  /** Default: the provider's JWKS path under the issuer. Must share the issuer's origin. */
  jwksUrl: z.string().url().max(500).optional(),
  /** Air-gapped: the issuer's public keys themselves (the CLI reads them from a file); no fetch ever happens. */
  jwks: Jwks.optional(),
  rules: z.array(TrustRule).min(1).max(50),
  tokenLifetime: z.string().regex(LIFETIME_PATTERN, 'like 30m or 1h (at most 12h)').default(DEFAULT_TOKEN_LIFETIME),
});
export type NewTrustPolicyBody = z.infer<typeof NewTrustPolicyBody>;

export interface TrustPolicy {
  id: string;
  workspaceId: string;
  name: string;
  provider: CiProvider;
  issuer: string;
  audience: string;
  jwksUrl: string | null;
  jwks: z.infer<typeof Jwks> | null;
  rules: TrustRule[];
  tokenLifetime: string;
  createdAt: string;
}

const refuse = (message: string): never => {
  throw new SealedCacheError('ERR_INPUT_INVALID', message);
};
const valuesOf = (pattern: string | string[]): string[] => [pattern].flat();
const isExact = (pattern: string | string[]): boolean => valuesOf(pattern).every((v) => !v.endsWith('*'));

/**
 * Fills issuer and JWKS URL from the preset and refuses a policy that could trust more than it says, or
 * that would make the server fetch from an issuer its admin did not allow (ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED).
 */
export function checkNewPolicy(
  body: NewTrustPolicyBody,
  issuers: IssuerControl,
): Omit<TrustPolicy, 'id' | 'workspaceId' | 'createdAt'> {
  const preset = body.provider === 'custom' ? undefined : PRESETS[body.provider];
  const issuer = normalizeIssuer(body.issuer ?? preset?.issuer ?? refuse('a custom provider needs its issuer URL'));
  if (!issuers.allowsScheme(new URL(issuer))) refuse(`the issuer ${issuer} must be an https:// URL`);
  let jwksUrl: string | null = null;
  if (body.jwks === undefined) {
    jwksUrl =
      body.jwksUrl ?? (preset ? `${issuer}${preset.jwksPath}` : refuse('a custom provider needs jwksUrl or jwks'));
    const url = new URL(jwksUrl);
    if (!issuers.allowsScheme(url)) refuse(`the JWKS URL ${jwksUrl} must be an https:// URL`);
    if (url.origin !== new URL(issuer).origin)
      refuse(`the JWKS URL must be on the issuer's origin (${new URL(issuer).origin})`);
    issuers.requireIssuer(issuer);
  } else if (body.jwksUrl !== undefined) refuse('give jwksUrl or jwks, not both');
  if (lifetimeMs(body.tokenLifetime) > MAX_TOKEN_LIFETIME_MS) refuse('tokenLifetime is at most 12h');
  body.rules.forEach((rule, i) => checkRule(body.provider, rule, `rule ${i + 1}${rule.name ? ` (${rule.name})` : ''}`));
  return {
    name: body.name,
    provider: body.provider,
    issuer,
    audience: body.audience,
    jwksUrl,
    jwks: body.jwks ?? null,
    rules: body.rules,
    tokenLifetime: body.tokenLifetime,
  };
}

function checkRule(provider: CiProvider, rule: TrustRule, where: string): void {
  if (rule.outcome === 'refused') return;
  if (Object.keys(rule.claims).length === 0)
    refuse(`${where}: a rule that grants access must match at least one claim`);
  if (provider !== 'custom') {
    const repoClaims = PRESETS[provider].repositoryClaims;
    const pinned = repoClaims.filter((claim) => rule.claims[claim] !== undefined);
    if (pinned.length === 0)
      refuse(`${where}: match the repository by ${repoClaims.join(' or ')} (numeric ids, not names)`);
    for (const claim of pinned) {
      const value = rule.claims[claim];
      if (!valuesOf(value).every((v) => /^\d{1,20}$/.test(v)))
        refuse(`${where}: ${claim} must be numeric ids, without *`);
    }
  }
  if (rule.outcome === 'isolated' && rule.scope !== undefined && !/^[A-Za-z0-9._/{}-]+$/.test(rule.scope))
    refuse(`${where}: scope may hold A-Z a-z 0-9 . _ / - and {placeholders}`);
  if (rule.outcome !== 'trusted') return;
  if (provider === 'github') {
    const events = rule.claims.event_name;
    if (events === undefined || !isExact(events) || !valuesOf(events).every((e) => GITHUB_TRUSTED_EVENTS.includes(e)))
      refuse(
        `${where}: a trusted rule must pin event_name to ${GITHUB_TRUSTED_EVENTS.join(', ')} (never pull_request*)`,
      );
    const ref = rule.claims.ref;
    if (ref === undefined || !isExact(ref) || !valuesOf(ref).every((r) => /^refs\/(heads|tags)\//.test(r)))
      refuse(`${where}: a trusted rule must pin ref exactly, e.g. refs/heads/main`);
  }
  if (provider === 'gitlab' && valuesOf(rule.claims.ref_protected ?? []).join() !== 'true')
    refuse(`${where}: a trusted rule must require ref_protected: "true"`);
}

export type Claims = Record<string, unknown>;

export interface PolicyDecision {
  outcome: Outcome;
  /** Isolated only. */
  scope?: string;
  /** Which rule decided, or why none did: shown to the CI job. */
  reason: string;
}

const claimText = (claims: Claims, name: string): string | undefined => {
  const value = claims[name];
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
};

function matches(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  return pattern.endsWith('*') ? value.startsWith(pattern.slice(0, -1)) : value === pattern;
}

const ruleMatches = (rule: TrustRule, claims: Claims): boolean =>
  Object.entries(rule.claims).every(([name, pattern]) =>
    valuesOf(pattern).some((p) => matches(p, claimText(claims, name))),
  );

/** A trusted rule that matched still needs these, checked on the claims themselves (defence in depth). */
function trustedGuard(provider: CiProvider, claims: Claims): string | undefined {
  if (provider === 'github') {
    const event = claimText(claims, 'event_name') ?? '(none)';
    if (!GITHUB_TRUSTED_EVENTS.includes(event))
      return `event ${event} runs with the base branch's ref but not its protection; trusted writes need ${GITHUB_TRUSTED_EVENTS.join(', ')}`;
    if (!/^refs\/(heads|tags)\//.test(claimText(claims, 'ref') ?? '')) return 'trusted writes need a branch or tag ref';
  }
  if (provider === 'gitlab' && claimText(claims, 'ref_protected') !== 'true')
    return 'trusted writes need a protected ref (ref_protected is not true)';
  return undefined;
}

/** `{pr}`: the pull request number of a refs/pull/<n>/… ref; `{branch}`: the branch; `{name}`: a claim. */
function placeholder(name: string, provider: CiProvider, claims: Claims): string | undefined {
  const ref = claimText(claims, 'ref') ?? '';
  if (name === 'pr') return /^refs\/pull\/(\d+)\//.exec(ref)?.[1] ?? claimText(claims, 'ci_merge_request_iid');
  if (name === 'branch') {
    const head = provider === 'github' ? claimText(claims, 'head_ref') : undefined;
    if (head) return head;
    return ref.startsWith('refs/heads/')
      ? ref.slice('refs/heads/'.length)
      : ref.startsWith('refs/')
        ? undefined
        : ref || undefined;
  }
  return claimText(claims, name);
}

export function scopeFor(rule: TrustRule, provider: CiProvider, claims: Claims): string {
  const template = rule.scope ?? (placeholder('pr', provider, claims) !== undefined ? 'pr-{pr}' : 'branch-{branch}');
  const scope = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_all, name: string) => {
    const value = placeholder(name, provider, claims);
    if (value === undefined || value === '')
      throw new SealedCacheError(
        'ERR_CI_IDENTITY_REFUSED',
        `the scope "${template}" needs {${name}}, which this job's token lacks`,
      );
    return value.replace(/[^A-Za-z0-9._/-]/g, '-');
  });
  const bounded = scope.slice(0, 100);
  if (!SCOPE_PATTERN.test(bounded))
    throw new SealedCacheError(
      'ERR_CI_IDENTITY_REFUSED',
      `the scope derived from the token is not usable ("${bounded}")`,
    );
  return bounded;
}

/** The first rule whose claims all match decides; none: refused. */
export function decideClaims(policy: Pick<TrustPolicy, 'provider' | 'rules' | 'name'>, claims: Claims): PolicyDecision {
  const index = policy.rules.findIndex((rule) => ruleMatches(rule, claims));
  if (index < 0) return { outcome: 'refused', reason: `no rule of trust policy ${policy.name} matches this job` };
  const rule = policy.rules[index];
  const label = `rule ${index + 1}${rule.name ? ` (${rule.name})` : ''} of trust policy ${policy.name}`;
  if (rule.outcome === 'refused') return { outcome: 'refused', reason: `${label} refuses this job` };
  if (rule.outcome === 'trusted') {
    const why = trustedGuard(policy.provider, claims);
    if (why !== undefined) return { outcome: 'refused', reason: `${label} is trusted, but ${why}` };
  }
  if (rule.outcome === 'isolated')
    return { outcome: 'isolated', scope: scopeFor(rule, policy.provider, claims), reason: label };
  return { outcome: rule.outcome, reason: label };
}

/** The claims recorded with a grant, and the one-line `<repo>@<ref>` people see. */
export function grantOf(
  provider: CiProvider,
  claims: Claims,
): { claims: Record<string, string>; summary: string; label: string } {
  const names = provider === 'custom' ? CUSTOM_GRANT_CLAIMS : PRESETS[provider].grantClaims;
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = claimText(claims, name);
    if (value !== undefined) picked[name] = value.slice(0, 300);
  }
  const repo = provider === 'gitlab' ? picked.project_path : (picked.repository ?? claimText(claims, 'sub'));
  const summary = `${repo ?? 'unknown'}@${picked.ref ?? 'unknown'}`;
  return { claims: picked, summary, label: provider === 'custom' ? 'CI identity' : PRESETS[provider].label };
}
