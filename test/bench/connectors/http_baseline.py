#!/usr/bin/python3
"""test/bench/connectors/http_baseline.py URL PAGES PER_PAGE DELAY_MS DSN — the baseline
of test/bench/connectors/http.sh: the usual Python loop (urllib, one page after
the other, json, a pandas DataFrame), then the frame into a table with
psycopg2's COPY.  Prints the seconds it took."""
import io
import json
import sys
import time
import urllib.request

import pandas as pd
import psycopg2

url, pages, per, delay, dsn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
t0 = time.time()
records = []
for page in range(1, pages + 1):
    with urllib.request.urlopen("%s/bench?page=%d&per_page=%d&pages=%d&delay_ms=%s" % (url, page, per, pages, delay)) as r:
        records.extend(json.load(r)["data"])
df = pd.DataFrame.from_records(records)
conn = psycopg2.connect(dsn)
cur = conn.cursor()
cur.execute("DROP TABLE IF EXISTS py_out; CREATE TABLE py_out (id bigint, name text, amount numeric, flag boolean, ts text)")
buf = io.StringIO()
df[["id", "name", "amount", "flag", "ts"]].to_csv(buf, index=False, header=False)
buf.seek(0)
cur.copy_expert("COPY py_out FROM STDIN WITH (FORMAT csv)", buf)
conn.commit()
cur.execute("SELECT count(*) FROM py_out")
n = cur.fetchone()[0]
conn.close()
print("%.3f %d" % (time.time() - t0, n))
