// test/bench/quality/duckdb_summarize.mjs CSV REPEAT — the baseline of the
// profile benchmark: DuckDB's SUMMARIZE of the same table (loaded from the
// CSV PostgreSQL wrote; loading is not timed), best of REPEAT, printed as
// "summarize_seconds N".  @duckdb/node-api is installed by run.sh.
import { DuckDBInstance } from '@duckdb/node-api';

const [csv, repeat] = [process.argv[2], Number(process.argv[3] || 3)];
const instance = await DuckDBInstance.create(':memory:');
const con = await instance.connect();
await con.run(`CREATE TABLE bench_q AS SELECT * FROM read_csv('${csv}', header = true)`);
let best = Infinity;
for (let i = 0; i < repeat; i++) {
  const t0 = process.hrtime.bigint();
  const reader = await con.runAndReadAll('SUMMARIZE bench_q');
  reader.getRows();
  const t = Number(process.hrtime.bigint() - t0) / 1e9;
  if (t < best) best = t;
}
console.log(`summarize_seconds ${best}`);
