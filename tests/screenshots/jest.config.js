/**
 * The pictures in docs/images: `npm run docs:screenshots` seeds a real server and photographs the admin pages in
 * headless Chromium (docs-pages.screenshots.ts). Not part of `npm test`: it rewrites tracked files.
 */
const path = require('node:path');

const rootDir = path.resolve(__dirname, '..', '..');

module.exports = {
  rootDir,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/tests/screenshots/**/*.screenshots.ts'],
  testTimeout: 240_000,
};
