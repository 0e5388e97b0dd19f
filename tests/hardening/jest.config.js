/**
 * The hardening suite (issue 10): hostile input, faults and attacks against the real product, each area
 * counting the cases it tried. Run with `npm run test:hardening`; the reporter prints one table at the end.
 */
const path = require('node:path');

const rootDir = path.resolve(__dirname, '..', '..');

module.exports = {
  rootDir,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/tests/hardening/**/*.hardening.ts'],
  testTimeout: 300_000,
  globalSetup: '<rootDir>/tests/hardening/support/global-setup.js',
  reporters: ['default', '<rootDir>/tests/hardening/support/table-reporter.js'],
};
