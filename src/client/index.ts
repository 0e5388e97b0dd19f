/** The client core shared by the Nx 17–20 tasks runner, the sealing proxy and the CLI. */
export * from './options';
export * from './config';
export * from './credentials-store';
export * from './server-url';
export * from './cache-server-client';
export * from './remote-session';
export * from './run-summary';
export * from './ci-identity';
