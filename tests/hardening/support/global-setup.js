/** Starts each run with no records left from an earlier one. */
const fs = require('node:fs');
const { RECORDS_DIR } = require('./records-dir');

module.exports = async function globalSetup() {
  fs.rmSync(RECORDS_DIR, { recursive: true, force: true });
  fs.mkdirSync(RECORDS_DIR, { recursive: true });
};
