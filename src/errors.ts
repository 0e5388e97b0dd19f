/**
 * The closed set of error codes. Every error the product raises on purpose carries one of these
 * codes, a human message (which may change), an optional chained cause, and an HTTP status for
 * the server. The README's error table is checked against this list by a unit test.
 *
 * Add a code to the section of its area; never reuse or rename a published code.
 */
export const ERROR_CODES = {
  // --- input and configuration ---
  ERR_INPUT_INVALID: { status: 400, summary: 'A request body, query or argument failed validation.' },
  ERR_CONFIG_INVALID: {
    status: 500,
    summary: 'Configuration (flags, env vars, nx.json options, config file) is invalid.',
  },

  // --- cache routes (/v1/cache/{hash}) ---
  ERR_CACHE_HASH_INVALID: { status: 400, summary: 'The hash in the URL is not 1-128 characters of [A-Za-z0-9_-].' },
  ERR_CACHE_ENTRY_EXISTS: { status: 409, summary: 'An entry with this hash already exists (write-once).' },
  ERR_CACHE_LENGTH_REQUIRED: { status: 411, summary: 'A PUT must carry Content-Length.' },
  ERR_CACHE_BODY_TOO_LARGE: { status: 413, summary: 'The artifact is larger than the configured maximum.' },
  ERR_CACHE_BODY_INCOMPLETE: {
    status: 400,
    summary: 'Fewer or more bytes arrived than Content-Length announced; nothing was stored.',
  },
  ERR_CACHE_WRITE_DENIED: { status: 403, summary: 'The credential may not write to this workspace.' },
  ERR_CACHE_STORAGE_FAILED: {
    status: 403,
    summary: 'Storage refused the write (for example a full disk); nothing was stored.',
  },
  ERR_CACHE_ARTIFACT_UNSAFE: {
    status: 403,
    summary:
      'An unsealed upload is not a safe Nx artifact (escaping or reserved names, links out, a form Nx never writes); nothing was stored.',
  },

  // --- run reports (/v1/runs) ---
  ERR_RUN_REPORT_INVALID: {
    status: 400,
    summary:
      'A run report is not JSON of the documented shape (a task entry, a hash, a status or a number is wrong); nothing was stored.',
  },
  ERR_RUN_REPORT_TOO_LARGE: {
    status: 413,
    summary: 'A run report is larger than 512 KiB or lists more than 2000 tasks; nothing was stored.',
  },
  ERR_RUN_REPORT_ANONYMOUS: {
    status: 401,
    summary: 'Run reports need a token: anonymous callers cannot report runs.',
  },
  ERR_RUN_NOT_FOUND: { status: 404, summary: 'No run with this id in this workspace.' },
  ERR_RUN_REPORT_RATE_LIMITED: {
    status: 429,
    summary: 'This credential sent more run reports than the server takes per minute; nothing was stored.',
  },

  // --- authentication and authorisation ---
  ERR_AUTH_TOKEN_MISSING: { status: 401, summary: 'No credential was sent and anonymous access is not possible here.' },
  ERR_AUTH_TOKEN_MALFORMED: {
    status: 401,
    summary: 'The token does not have the nx-sealed-cache shape or its checksum is wrong.',
  },
  ERR_AUTH_TOKEN_INVALID: { status: 401, summary: 'The token is not known to this server.' },
  ERR_AUTH_TOKEN_EXPIRED: { status: 401, summary: 'The token has expired.' },
  ERR_AUTH_TOKEN_REVOKED: { status: 401, summary: 'The token was revoked or rotated.' },
  ERR_AUTH_NOT_MEMBER: { status: 401, summary: "The token's user is not a member of the workspace's organisation." },
  ERR_AUTH_ANONYMOUS_DENIED: { status: 401, summary: "The workspace's anonymous access level does not allow this." },
  ERR_AUTH_WORKSPACE_REQUIRED: {
    status: 401,
    summary: 'The request names no workspace (use /w/<workspace-id> or a workspace-bound token).',
  },
  ERR_AUTH_WORKSPACE_MISMATCH: {
    status: 401,
    summary: 'The token belongs to a different workspace than the URL names.',
  },
  ERR_AUTH_READ_DENIED: { status: 401, summary: 'The credential may not read this workspace.' },
  ERR_AUTH_FORBIDDEN: { status: 403, summary: 'The credential is valid but may not perform this action.' },
  ERR_AUTH_RATE_LIMITED: { status: 429, summary: 'Too many requests or failed attempts; retry later.' },
  ERR_AUTH_TOKEN_KIND_REFUSED: {
    status: 401,
    summary: 'This kind of token cannot be used here (admin tokens only for the admin API, CI tokens never for it).',
  },

  // --- admin domain ---
  ERR_NOT_FOUND: { status: 404, summary: 'No such route.' },
  ERR_ORG_NOT_FOUND: { status: 404, summary: 'No such organisation.' },
  ERR_ORG_EXISTS: { status: 409, summary: 'An organisation with this name already exists.' },
  ERR_WORKSPACE_NOT_FOUND: { status: 404, summary: 'No such workspace.' },
  ERR_WORKSPACE_EXISTS: { status: 409, summary: 'A workspace with this name already exists in the organisation.' },
  ERR_USER_NOT_FOUND: { status: 404, summary: 'No such user.' },
  ERR_USER_EXISTS: { status: 409, summary: 'A user with this name already exists.' },
  ERR_MEMBER_NOT_FOUND: { status: 404, summary: 'The user is not a member of the organisation.' },
  ERR_MEMBER_EXISTS: { status: 409, summary: 'The user is already a member of the organisation.' },
  ERR_TOKEN_NOT_FOUND: { status: 404, summary: 'No such token.' },
  ERR_TOKEN_INACTIVE: { status: 409, summary: 'The token is already revoked or expired.' },
  ERR_INVITATION_NOT_FOUND: { status: 404, summary: 'No such invitation, or it was already answered or has expired.' },
  ERR_ROUTE_UNDECLARED: {
    status: 500,
    summary: 'A route was registered without declaring its permission; the server refuses to start.',
  },
  ERR_ADMIN_ALREADY_INITIALISED: { status: 409, summary: 'The data directory already has an administrator.' },

  // --- server internals ---
  ERR_DATA_DIR_LOCKED: { status: 500, summary: 'Another server process holds the data directory.' },
  ERR_SERVER_LISTEN_FAILED: {
    status: 500,
    summary: 'The server could not listen on the configured host and port (in use, not permitted, or no such address).',
  },
  ERR_DATABASE_FAILED: { status: 503, summary: 'The metadata database failed; the request changed nothing.' },
  ERR_BLOB_STORE_UNAVAILABLE: {
    status: 503,
    summary: 'The blob store (an S3-compatible bucket) refused or failed a request; nothing was changed.',
  },
  ERR_INTERNAL: { status: 500, summary: 'An unexpected error; the request changed nothing.' },

  // --- client core (runner, proxy, CLI) ---
  ERR_CLIENT_UNREACHABLE: { status: 502, summary: 'The cache server could not be reached.' },
  ERR_CLIENT_TIMEOUT: { status: 504, summary: 'The cache server did not answer in time.' },
  ERR_CLIENT_BAD_RESPONSE: { status: 502, summary: 'The cache server answered with something unexpected.' },
  ERR_BACKUP_VERIFY_FAILED: {
    status: 500,
    summary:
      'A backup did not verify (an entry without its blob, or a blob of another size or SHA-256); nothing was kept.',
  },
  ERR_MIGRATE_VERIFY_FAILED: {
    status: 500,
    summary:
      'A storage migration did not verify: entries without a matching object in the target (missing or changed at the source), or tables whose rows differ.',
  },
  ERR_MIGRATE_TARGET_NOT_EMPTY: {
    status: 409,
    summary: 'The target database of a storage migration holds rows the data directory does not have.',
  },

  // --- sealing (crypto) ---
  ERR_SEAL_KEY_INVALID: { status: 500, summary: 'An encryption key is malformed or too weak.' },
  ERR_SEAL_OPEN_FAILED: {
    status: 500,
    summary: 'A sealed artifact could not be opened (wrong key, tampered, truncated or stored under another hash).',
  },

  // --- signed entries (crypto) ---
  ERR_SIGNING_KEY_INVALID: { status: 500, summary: "A signing key or a trusted signer's public key is malformed." },
  ERR_SIGNATURE_INVALID: {
    status: 500,
    summary: 'An entry is not signed by a trusted signer (unsigned, unlisted key, moved or modified); read as a miss.',
  },

  // --- generators and login ---
  ERR_NX_VERSION_UNKNOWN: { status: 500, summary: 'The installed Nx version could not be detected; pass --nxVersion.' },
  ERR_NX_VERSION_UNSUPPORTED: {
    status: 500,
    summary: 'The installed Nx version is older than 17, which nx-sealed-cache does not support.',
  },
  ERR_SERVER_NOT_INSTALLED: {
    status: 500,
    summary:
      'A server command (serve, admin, backup, storage, user set-password --data-dir) ran from the nx-sealed-cache package, which ships without the server; install nx-sealed-cache-server.',
  },
  ERR_INIT_OTHER_CACHE: {
    status: 500,
    summary:
      'Another remote cache (Nx Cloud, an @nx/*-cache adapter or an nx-remotecache-* runner) is configured; init changes nothing without --replace-existing or a yes at its prompt.',
  },
  ERR_LOGIN_TOKEN_KIND: {
    status: 400,
    summary: '`login` stores personal access tokens only; CI tokens belong in NX_SEALED_CACHE_ACCESS_TOKEN.',
  },

  // --- admin web page and browser login ---
  ERR_WEB_SIGNIN_FAILED: { status: 401, summary: 'The user name or password is wrong (the page never says which).' },
  ERR_WEB_SESSION_REQUIRED: {
    status: 401,
    summary: 'This page needs a signed-in session; the session is missing or has expired.',
  },
  ERR_WEB_CSRF_FAILED: {
    status: 403,
    summary: 'A form was posted without a valid CSRF token or from another origin; nothing was changed.',
  },
  ERR_WEB_PASSWORD_WEAK: { status: 400, summary: 'The new password is too short or too long (12 to 1024 characters).' },
  ERR_WEB_INVITE_INVALID: { status: 404, summary: 'The invite link is unknown, already used or expired.' },
  ERR_WEB_SSO_FAILED: {
    status: 401,
    summary:
      'A sign-in through an identity provider did not pass its checks (state, issuer, audience, nonce, signature); nobody was signed in.',
  },
  ERR_WEB_SSO_NOT_ALLOWED: {
    status: 403,
    summary: 'The identity is valid but linked to no account, and no organisation lets its verified email domain join.',
  },
  ERR_WEB_SSO_REQUIRED: {
    status: 403,
    summary:
      'The organisation requires its members to sign in with a given identity provider; this session signed in otherwise.',
  },
  ERR_SCIM_UNAUTHORIZED: {
    status: 401,
    summary:
      'A SCIM call without the bearer token of a provider whose SCIM is configured (docs/sso.md); nothing was read or changed.',
  },
  ERR_SCIM_INVALID: {
    status: 400,
    summary:
      'A SCIM request the server does not accept: malformed JSON, an unsupported filter or patch, a bad value; nothing was changed.',
  },
  ERR_SCIM_NOT_FOUND: { status: 404, summary: 'No SCIM user of that id at this provider.' },
  ERR_SCIM_CONFLICT: { status: 409, summary: 'The provider already has a SCIM user of that userName.' },
  ERR_LOGIN_REQUEST_NOT_FOUND: {
    status: 404,
    summary: 'No such CLI login request, or the polling code does not match.',
  },
  ERR_LOGIN_REQUEST_EXPIRED: {
    status: 410,
    summary: 'The CLI login request expired or was already used; run login again.',
  },
  ERR_LOGIN_REQUEST_DENIED: {
    status: 403,
    summary: 'The CLI login request was denied in the browser; no token was issued.',
  },

  // --- operations (limits, readiness) ---
  ERR_CACHE_WRITE_LIMITED: {
    status: 403,
    summary: 'A rate limit or byte quota refused this upload (answered 403 so Nx goes on); nothing was stored.',
  },

  // --- archives ---
  ERR_ARCHIVE_UNSAFE_ENTRY: {
    status: 500,
    summary: 'An archive entry would escape its folder, or is a link or device.',
  },
  ERR_ARCHIVE_TOO_LARGE: { status: 500, summary: 'An archive exceeds the size or entry-count cap.' },
  ERR_ARCHIVE_CORRUPT: { status: 500, summary: 'An archive could not be read.' },
  ERR_ARCHIVE_NONSTANDARD: {
    status: 500,
    summary:
      'An artifact uses a gzip or tar form Nx never writes (pax, POSIX ustar, extra gzip members...): tar parsers could read it differently.',
  },

  // --- sealing proxy ---
  ERR_PROXY_STATE_UNSAFE: {
    status: 500,
    summary: "The proxy's state folder is not a private directory of the current user.",
  },
  ERR_PROXY_START_FAILED: {
    status: 500,
    summary: 'The loopback sealing proxy could not be started or reached; the run goes on without a remote cache.',
  },
  ERR_PROXY_NOT_RUNNING: {
    status: 500,
    summary:
      'The proxy started by `nx-sealed-cache proxy start` for this workspace is not running (expired, stopped or never started).',
  },

  // --- CI identity (OIDC token exchange, docs/ci-identity.md) ---
  ERR_CI_IDENTITY_INVALID: {
    status: 401,
    summary: "The CI identity token is not a valid JWT of the policy's issuer (shape, signature, issuer or claims).",
  },
  ERR_CI_IDENTITY_ALG_REFUSED: {
    status: 401,
    summary:
      'The CI identity token is unsigned or uses a symmetric algorithm (only RS*, PS*, ES* and EdDSA are accepted).',
  },
  ERR_CI_IDENTITY_EXPIRED: { status: 401, summary: 'The CI identity token has expired or is not valid yet.' },
  ERR_CI_IDENTITY_AUDIENCE: {
    status: 401,
    summary: "The CI identity token's audience is not the one the policy requires.",
  },
  ERR_CI_IDENTITY_KEY_UNKNOWN: {
    status: 401,
    summary: 'The CI identity token is signed with a key the issuer does not publish.',
  },
  ERR_CI_IDENTITY_REPLAYED: { status: 401, summary: 'This CI identity token (its jti) was already exchanged.' },
  ERR_CI_IDENTITY_NO_POLICY: { status: 401, summary: "The workspace has no trust policy for the token's issuer." },
  ERR_CI_IDENTITY_REFUSED: {
    status: 403,
    summary: "The workspace's trust policy refuses this job (no rule matched, or a rule refused it).",
  },
  ERR_CI_IDENTITY_KEYS_UNAVAILABLE: {
    status: 503,
    summary: "The issuer's signing keys (JWKS) could not be fetched or read.",
  },
  ERR_CI_IDENTITY_ISSUER_NOT_ALLOWED: {
    status: 403,
    summary:
      'The trust policy names an issuer this server may not fetch keys from: a server admin lists it in `--ci-identity-issuers`, or the policy carries its keys (`--jwks-file`).',
  },
  ERR_CI_IDENTITY_UNAVAILABLE: {
    status: 500,
    summary:
      'The CI job offers no identity token (no id-token permission, or the variable is missing); the run falls back.',
  },
  ERR_TRUST_POLICY_NOT_FOUND: { status: 404, summary: 'No such trust policy in this workspace.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export class SealedCacheError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SealedCacheError';
    this.code = code;
    this.status = options?.status ?? ERROR_CODES[code].status;
  }
}

export function isSealedCacheError(err: unknown, code?: ErrorCode): err is SealedCacheError {
  return err instanceof SealedCacheError && (code === undefined || err.code === code);
}
