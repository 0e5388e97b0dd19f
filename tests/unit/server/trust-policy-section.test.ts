/** The workspace page's CI identity section: rules in words, and forms only for those who may manage policies. */
import type { TrustPolicy } from '../../../src/server/ci-identity/trust-policy';
import type { Workspace } from '../../../src/server/metadata/records';
import { describeRule, trustPolicySection } from '../../../src/server/web/pages/trust-policy-section';

const viewer = { name: 'ada', serverAdmin: false, csrf: 'c'.repeat(43) };
const ws = { id: 'ws_aaaaaaaaaaaaaaaaaaaa', name: 'mono' } as Workspace;
const policy: TrustPolicy = {
  id: 'tp_0123456789abcdef',
  workspaceId: ws.id,
  name: 'gitlab',
  provider: 'gitlab',
  issuer: 'https://gitlab.com',
  audience: 'https://cache.example.com',
  jwksUrl: 'https://gitlab.com/oauth/discovery/keys',
  jwks: null,
  rules: [
    {
      name: 'protected',
      claims: { project_id: '4242', ref_protected: 'true', pipeline_source: ['push', 'schedule'] },
      outcome: 'trusted',
    },
    { claims: { project_id: '4242', ref: ['main', 'release/*', 'hotfix/*'] }, outcome: 'read-only' },
    { claims: { project_id: '4242' }, outcome: 'isolated' },
    { claims: {}, outcome: 'refused' },
  ],
  tokenLifetime: '30m',
  createdAt: '2030-01-02T03:04:05.000Z',
};
const EMPTY = {
  name: '',
  provider: 'github',
  issuer: '',
  audience: '',
  rules: '',
  jwksUrl: '',
  jwks: '',
  tokenLifetime: '',
};

describe('rules in words', () => {
  it('names the outcome, each claim, lists as "or" and prefixes as "starts with"', () => {
    expect(policy.rules.map(describeRule)).toEqual([
      'protected: trusted: reads and writes the shared tier when project_id is 4242, ref_protected is true, pipeline_source is push or schedule',
      'read-only: reads the shared tier, writes nothing when project_id is 4242, ref is main or starts with release/ or hotfix/',
      'isolated: reads and writes only its own scope pr-{pr}, else branch-{branch} when project_id is 4242',
      'refused, any job',
    ]);
  });
});

describe('the section', () => {
  it('shows the policy with its creator, and the add and delete forms to those who may manage it', () => {
    const shown = trustPolicySection(viewer, ws, {
      rows: [{ policy, createdBy: 'ada' }],
      canManage: true,
      form: EMPTY,
    }).value;
    expect(shown).toContain(
      '<time datetime="2030-01-02T03:04:05.000Z"><span>2 Jan 2030,</span> <span>03:04 UTC</span></time> by ada',
    );
    expect(shown).toContain('GitLab CI <code>https://gitlab.com</code>');
    expect(shown.match(/<form /g)).toHaveLength(2);
    expect(shown).toContain(`action="/ui/workspaces/${ws.id}/trust-policies/${policy.id}/delete"`);
    expect(shown).toContain(`<input type="hidden" name="csrf" value="${viewer.csrf}">`);
  });

  it('lists the same policy without any form to a viewer who may not manage it', () => {
    const shown = trustPolicySection(viewer, ws, {
      rows: [{ policy, createdBy: null }],
      canManage: false,
      form: EMPTY,
    }).value;
    expect(shown).toContain('data-trust-policy="gitlab"');
    expect(shown).toContain('ref is main or starts with release/ or hotfix/');
    expect(shown).not.toContain('<form');
    expect(shown).not.toContain('csrf');
    expect(shown).toContain("Only the organisation's admins add or delete trust policies.");
  });

  it('shows a refusal with its code and escapes what was typed', () => {
    const shown = trustPolicySection(viewer, ws, {
      rows: [],
      canManage: true,
      form: { ...EMPTY, name: '"><script>', rules: '</textarea><b>' },
      error: { code: 'ERR_INPUT_INVALID', message: 'invalid trust policy: <rules>' },
    }).value;
    expect(shown).toContain('<code>ERR_INPUT_INVALID</code></strong> invalid trust policy: &lt;rules&gt;');
    expect(shown).toContain('value="&quot;&gt;&lt;script&gt;"');
    expect(shown).toContain('&lt;/textarea&gt;&lt;b&gt;</textarea>');
    expect(shown).toContain('No trust policies: every CI identity token is refused');
  });
});
