/** The names CI identity reads from the environment; apart from the exchange so the plugin's hooks load no HTTP client. */
export const ENV_GITHUB_REQUEST_URL = 'ACTIONS_ID_TOKEN_REQUEST_URL';
export const ENV_GITHUB_REQUEST_TOKEN = 'ACTIONS_ID_TOKEN_REQUEST_TOKEN';
/** Secrets of the job's identity: tasks must not inherit them (src/client/secret-env.ts). */
export const CI_IDENTITY_ENV_VARS = [ENV_GITHUB_REQUEST_URL, ENV_GITHUB_REQUEST_TOKEN] as const;
export const ID_TOKEN_VARIABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;
