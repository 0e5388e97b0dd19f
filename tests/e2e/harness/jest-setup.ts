/** jest-circus reads testTimeout only from the root config, not a project's: e2e files set it here (setupFilesAfterEnv). */
import { E2E_TEST_TIMEOUT_MS } from './paths';

jest.setTimeout(E2E_TEST_TIMEOUT_MS);
