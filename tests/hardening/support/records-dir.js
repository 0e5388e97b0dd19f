/** Where each suite leaves its per-area record and where the reporter writes the table (tests/artifacts is git-ignored). */
const path = require('node:path');

const ARTIFACTS_DIR = path.resolve(__dirname, '..', '..', 'artifacts');
const RECORDS_DIR = path.join(ARTIFACTS_DIR, 'hardening-records');
const TABLE_FILE = path.join(ARTIFACTS_DIR, 'hardening.json');

/** The order rows appear in, so tables of different runs line up. */
const AREAS = [
  'Hostile HTTP',
  'Slow and greedy clients',
  'Auth attacks',
  'Authorization',
  'Hostile artifacts',
  'Archive forms',
  'Crashes',
  'Concurrency under load',
  'Disk full',
  'Secrets',
  'Signatures',
  'CI identity (OIDC)',
];

module.exports = { ARTIFACTS_DIR, RECORDS_DIR, TABLE_FILE, AREAS };
