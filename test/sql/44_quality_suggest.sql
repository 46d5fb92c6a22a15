-- 44_quality_suggest: etl.suggest_rules proposes a rule set from a profile
-- (deequ-style) that registers as is and passes on the data it came from.
\set SHOW_CONTEXT never
CREATE TABLE public.q44 AS
SELECT i AS id, 'user' || i || '@example.com' AS email,
       CASE WHEN i % 50 = 0 THEN NULL ELSE i % 80 END AS age,
       (ARRAY['gold', 'silver', 'bronze'])[1 + i % 3] AS tier,
       (i % 7) - 3 AS delta, NULL::text AS unused
  FROM generate_series(1, 500) i;

SELECT r->>'name' AS name, r->>'type' AS type, r->>'check' AS check, r->>'column' AS column,
       r->'threshold' AS threshold, r->>'severity' AS severity,
       r - ARRAY['name', 'type', 'check', 'column', 'threshold', 'severity', 'description'] AS params,
       r->>'description' AS why
  FROM jsonb_array_elements((etl.suggest_rules('q44'))->'rules') r;

-- ready to register, and it passes on the data it was learnt from
SELECT etl.define_quality_profile('q44_suggested', (etl.suggest_rules('q44'))->'rules');
SELECT r->'passed' AS passed, r->'quality_score' AS quality_score
  FROM etl.execute_dq_validation('q44', 'q44_suggested') r;
-- and catches drift
INSERT INTO q44 VALUES (501, 'not-an-email', -4, 'platinum', 9, NULL);
SELECT r->'passed' AS passed,
       (SELECT jsonb_agg(c->'rule' ORDER BY c->>'rule') FROM jsonb_array_elements(r->'checks') c WHERE NOT (c->>'passed')::bool) AS failing
  FROM etl.execute_dq_validation('q44', 'q44_suggested') r;

-- empty data: nothing to suggest (documented result, not an error)
SELECT etl.suggest_rules('SELECT * FROM q44 WHERE false');

DELETE FROM etl.quality_scores WHERE dataset = 'q44';
DELETE FROM etl.quality_profiles WHERE name = 'q44_suggested';
DROP TABLE q44;
