export interface InitGeneratorSchema {
  /** Base URL of the cache server, e.g. https://cache.example.com. */
  url?: string;
  /** The workspace id the server assigned (`ws_` + 20 letters or digits). */
  workspaceId?: string;
  /** `generate` creates a new encryption key and prints it once. */
  encryption?: 'none' | 'generate';
  /** Also write the generated key into nx.json, where anyone who can read the repository can read it. */
  storeKeyInNxJson?: boolean;
  /** Public keys (`nxpub1_…`, comma separated) added to `trustedSigners`. */
  trustedSigners?: string;
  /** `generate` creates a signing key pair: the private key is printed once, the public one listed. */
  signing?: 'none' | 'generate';
  /** Overrides detection of the installed Nx version, e.g. `20.8.2`. */
  nxVersion?: string;
  /** Remove another remote cache (Nx Cloud, @nx/*-cache, nx-remotecache-*) found in nx.json and package.json. */
  replaceExisting?: boolean;
}
