/** The client's environment variables, apart from the parsers so the plugin's hooks can name them cheaply. */
export const ENV_URL = 'NX_SEALED_CACHE_URL';
export const ENV_ACCESS_TOKEN = 'NX_SEALED_CACHE_ACCESS_TOKEN';
export const ENV_ENCRYPTION_KEY = 'NX_SEALED_CACHE_ENCRYPTION_KEY';
/** The trusted writer's Ed25519 private key: a CI secret, never an nx.json option. */
export const ENV_SIGNING_KEY = 'NX_SEALED_CACHE_SIGNING_KEY';
