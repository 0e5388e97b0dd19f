/**
 * Unit tests run in-process and in parallel. End-to-end tests drive the real nx CLI and server, so
 * `npm test` runs them in a second, serial pass (jest ignores maxWorkers and testTimeout inside a
 * project, hence the setup file and --runInBand in package.json).
 */
// tsconfig.json sets isolatedModules, so ts-jest transpiles each file alone (type checking is tsc's job in the build).
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: [
        '<rootDir>/tests/unit/**/*.test.ts',
        '<rootDir>/generators/**/*.test.ts',
        '<rootDir>/executors/**/*.test.ts',
      ],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/tests/e2e/harness/jest-setup.ts'],
    },
  ],
};
