/** The e2e harness: real Nx workspaces from fixtures, the real server and CLI, and a reference cache server. */
export * from './cli';
export * from './cli-login';
export * from './file-hashes';
export * from './mid-run-crash';
export * from './oidc-issuer';
export * from './paths';
export * from './ports';
export * from './process-table';
export * from './processes';
export * from './reference-server';
export * from './remote-cache';
export * from './server';
export * from './task-outcomes';
export * from './trust-policy';
export * from './workspace';
export * from './test-bed';
export * from './s3-store';
