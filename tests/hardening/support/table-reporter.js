/** Jest reporter: after the run, sums the suites' records per area, prints one table and writes it as JSON. */
const fs = require('node:fs');
const path = require('node:path');
const { AREAS, RECORDS_DIR, TABLE_FILE } = require('./records-dir');

function readRecords() {
  if (!fs.existsSync(RECORDS_DIR)) return [];
  return fs
    .readdirSync(RECORDS_DIR)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(fs.readFileSync(path.join(RECORDS_DIR, name), 'utf8')));
}

function summarise(records) {
  const byArea = new Map();
  for (const record of records) {
    const row = byArea.get(record.area) ?? {
      area: record.area,
      tried: 0,
      held: 0,
      failed: 0,
      failures: [],
      seeds: [],
      notes: [],
    };
    row.tried += record.tried;
    row.held += record.held;
    row.failed += record.failures.length;
    row.failures.push(...record.failures.map((f) => ({ suite: record.suite, ...f })));
    row.seeds.push({ suite: record.suite, seed: record.seed });
    row.notes.push(...record.notes);
    byArea.set(record.area, row);
  }
  const known = AREAS.filter((area) => byArea.has(area)).map((area) => byArea.get(area));
  const extra = [...byArea.keys()].filter((area) => !AREAS.includes(area)).map((area) => byArea.get(area));
  return [...known, ...extra];
}

function formatTable(rows) {
  const lines = ['| area | cases tried | held | failed |', '|---|---:|---:|---:|'];
  for (const row of rows) lines.push(`| ${row.area} | ${row.tried} | ${row.held} | ${row.failed} |`);
  const total = rows.reduce(
    (sum, row) => ({ tried: sum.tried + row.tried, held: sum.held + row.held, failed: sum.failed + row.failed }),
    { tried: 0, held: 0, failed: 0 },
  );
  lines.push(`| **total** | ${total.tried} | ${total.held} | ${total.failed} |`);
  return lines.join('\n');
}

function formatFailures(rows) {
  const lines = [];
  for (const row of rows) {
    for (const failure of row.failures.slice(0, 20)) lines.push(`- ${row.area} / ${failure.case}: ${failure.reason}`);
    if (row.failures.length > 20) lines.push(`- ${row.area}: ${row.failures.length - 20} more in ${TABLE_FILE}`);
  }
  return lines.join('\n');
}

class HardeningTableReporter {
  onRunComplete() {
    const rows = summarise(readRecords());
    if (rows.length === 0) return;
    fs.mkdirSync(path.dirname(TABLE_FILE), { recursive: true });
    fs.writeFileSync(TABLE_FILE, `${JSON.stringify({ generatedAt: new Date().toISOString(), rows }, null, 2)}\n`);
    const failures = formatFailures(rows);
    const notes = rows.flatMap((row) => row.notes.map((note) => `- ${row.area}: ${note}`)).join('\n');
    process.stdout.write(
      `\nHardening summary\n\n${formatTable(rows)}\n${failures ? `\nFailed cases:\n${failures}\n` : ''}${notes ? `\nNotes:\n${notes}\n` : ''}\nWritten to ${path.relative(process.cwd(), TABLE_FILE)}\n`,
    );
  }
}

module.exports = HardeningTableReporter;
