-- 03_health: etl.health() reports versions, preload and scheduler state and
-- the linked libyaml, libcurl and OpenSSL versions.
SELECT key FROM jsonb_each(etl.health()) ORDER BY key;

SELECT etl.health()->>'extension_version' = (SELECT extversion FROM pg_extension
                                              WHERE extname = 'metaetl') AS extension_version_matches,
       etl.health()->>'postgresql_version' = current_setting('server_version') AS server_version_matches,
       (etl.health()->>'preloaded')::boolean AS preloaded,
       etl.health()->>'scheduler' IN ('starting', 'restarting', 'running', 'waiting for extension') AS scheduler,
       etl.health()->>'database' = current_database() AS database_matches;

-- the linked libraries report real version strings
SELECT etl.health()->>'libyaml_version' ~ '^\d+\.\d+\.\d+$' AS libyaml,
       etl.health()->>'libcurl_version' ~ '^\d+\.\d+\.\d+' AS libcurl,
       etl.health()->>'openssl_version' ~ '^OpenSSL \d+\.\d+\.\d+' AS openssl;

-- the function's volatility and return type are part of the contract
SELECT pg_get_function_result('etl.health()'::regprocedure) AS returns;
