"""test/bench/quality/iforest.py DSN — the measuring half of iforest.sh.

metaetl: etl.detect_anomalies(..., 'isolation_forest') over the table in the
server (wall time of the call as seen by the client; the scores stay in the
database, only the flag count comes back).  Peer: scikit-learn's
IsolationForest(n_estimators=100, max_samples=256) fit + score_samples, timed
from fetching the data (COPY into pandas) to the scores.  Both ROC AUCs are
computed with sklearn.metrics.roc_auc_score against the planted labels.
"""
import io
import sys
import time

import numpy as np
import pandas as pd
import psycopg2
import sklearn
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

dsn = sys.argv[1]
conn = psycopg2.connect(dsn)
conn.autocommit = True
cur = conn.cursor()
# heap order = id order, so row_number = id (no synchronized scan starting mid-table)
cur.execute("SET synchronize_seqscans = off")
cur.execute("SELECT count(*) FROM bench_if")
rows = cur.fetchone()[0]

CALL = ("etl.detect_anomalies('bench_if', ARRAY['a', 'b', 'c', 'd'], 'isolation_forest', "
        "'{\"seed\": 1}')")

# metaetl: best of 3 runs of the call
times = []
for _ in range(3):
    t0 = time.perf_counter()
    cur.execute(f"SELECT count(*) FILTER (WHERE is_anomaly) FROM {CALL}")
    flagged = cur.fetchone()[0]
    times.append(time.perf_counter() - t0)
t_metaetl = min(times)

# metaetl's scores for the AUC (same seed: the same scores; not timed)
cur.execute(f"SELECT d.score, b.outlier FROM {CALL} AS d JOIN bench_if AS b ON b.id = d.row_number")
res = np.array(cur.fetchall(), dtype=float)
auc_metaetl = roc_auc_score(res[:, 1], res[:, 0])

# scikit-learn: data to Python (COPY -> pandas) + fit + score_samples, best of 3
times = []
for _ in range(3):
    t0 = time.perf_counter()
    buf = io.BytesIO()
    cur.copy_expert("COPY (SELECT a, b, c, d, outlier::int FROM bench_if ORDER BY id) TO STDOUT WITH CSV", buf)
    buf.seek(0)
    df = pd.read_csv(buf, header=None, names=["a", "b", "c", "d", "outlier"])
    t_load = time.perf_counter() - t0
    X = df[["a", "b", "c", "d"]].to_numpy()
    clf = IsolationForest(n_estimators=100, max_samples=256, random_state=1)
    clf.fit(X)
    s = -clf.score_samples(X)
    times.append((time.perf_counter() - t0, t_load))
t_sklearn, t_load = min(times)
auc_sklearn = roc_auc_score(df["outlier"].to_numpy(), s)

print(f"rows: {rows} x 4 columns, planted outliers: {int(df['outlier'].sum())}")
print(f"metaetl etl.detect_anomalies isolation_forest: {t_metaetl:.2f} s "
      f"(flagged {flagged} with score > 0.5), ROC AUC {auc_metaetl:.4f}")
print(f"scikit-learn {sklearn.__version__} IsolationForest fit+score_samples: {t_sklearn:.2f} s "
      f"(of which moving the data to pandas {t_load:.2f} s), ROC AUC {auc_sklearn:.4f}")
print(f"ratio: metaetl is {t_sklearn / t_metaetl:.1f}x faster; AUC difference {auc_metaetl - auc_sklearn:+.4f}")
