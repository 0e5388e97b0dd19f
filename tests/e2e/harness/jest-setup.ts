/** jest-circus reads testTimeout only from the root config, not a project's: the e2e project sets it here, once, for every file (setupFilesAfterEnv). */
import { E2E_TEST_TIMEOUT_MS } from './paths';

jest.setTimeout(E2E_TEST_TIMEOUT_MS);
