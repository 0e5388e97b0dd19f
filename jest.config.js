/** Unit tests run in-process and fast; e2e tests drive the real nx CLI and server, so they run serially with long timeouts. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json', isolatedModules: true }];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/tests/unit/**/*.test.ts', '<rootDir>/generators/**/*.test.ts', '<rootDir>/executors/**/*.test.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/tests/e2e/**/*.test.ts'],
      testTimeout: 240000,
      maxWorkers: 1,
    },
  ],
};
