--
-- cache: the shared prepared copy of each model (bert.cache_dir) and the
-- matrix product plan (bert.gemm_strategy)
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
LOAD 'bert';
SET bert.model_dir = :'testmodels';

-- the default: a folder of the data directory
SHOW bert.cache_dir;
SELECT name, setting, context, vartype, enumvals
FROM pg_settings WHERE name IN ('bert.cache_dir', 'bert.gemm_strategy')
ORDER BY name COLLATE "C";

--
-- an F16 and a BF16 model map one prepared F32 copy: nothing private
--
SELECT bert_embed('shared weights', 'bert-tiny-random-f16') IS NOT NULL AS f16,
       bert_embed('shared weights', 'bert-tiny-random-bf16') IS NOT NULL AS bf16;
SELECT name, dtype, weights, private_bytes, shared_bytes,
       cache_file ~ '^bert_cache/[0-9a-f]{16}-auto\.bert$' AS cache_file_named,
       split_part(gemm_plan, ' ', 1) AS plan
FROM bert_models() ORDER BY name COLLATE "C";
-- the copy gives the golden outputs (the parity suite checks every row)
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(g ->> 'text', 'bert-tiny-random-f16'),
                                           json_floats(g -> 'mean_pooled_l2')) < 1e-4) AS within_1e_4
FROM golden(:'testmodels' || '/golden/bert-tiny-random-f16.jsonl');
-- kept across reconnections (a temporary table would go); one call per
-- row, so that each product has the same rows as in the check below (a
-- batched call's rows depend on its batch, and so may its strategy)
SET bert.batch_queries = off;
CREATE TABLE shared_results AS
SELECT i, bert_embed(g ->> 'text', 'bert-tiny-random-f16') AS e16,
       bert_embed(g ->> 'text', 'bert-tiny-random-bf16') AS eb16,
       bert_logits(g ->> 'text', 'bert-tiny-random-cls') AS l
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl');

-- an F32 model is read in place; it has a cache file only for layer
-- weights the plan keeps transposed
SELECT bert_logits('in place', 'bert-tiny-random-cls') IS NOT NULL AS loaded;
SELECT name, weights IN ('model file', 'shared cache') AS mapped, private_bytes,
       shared_bytes >= file_bytes * 0.9 AS shared,
       (cache_file IS NOT NULL) = (weights = 'shared cache') AS file_iff_shared,
       (cache_file IS NOT NULL) = (gemm_plan ~ ' kn ') AS file_iff_transposed,
       split_part(gemm_plan, ' ', 1) AS plan
FROM bert_models() WHERE name = 'bert-tiny-random-cls';
-- the measured plans: one file per set of weight shapes, shared by models
SELECT count(*) > 0 AS plan_files FROM pg_ls_dir('bert_cache') f WHERE f LIKE '%.plan';

-- a new backend maps the same files: the same plan, the same bits
\c -
SET bert.model_dir = :'testmodels';
SET bert.batch_queries = off;
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE bert_embed(g ->> 'text', 'bert-tiny-random-f16') = e16
                          AND bert_embed(g ->> 'text', 'bert-tiny-random-bf16') = eb16
                          AND bert_logits(g ->> 'text', 'bert-tiny-random-cls') = l) AS identical
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl') JOIN shared_results USING (i);

--
-- without a cache directory: private copies, the prior plan, no warning
--
\c -
SET bert.model_dir = :'testmodels';
SET bert.cache_dir = '';
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(g ->> 'text', 'bert-tiny-random-f16'), e16) < 1e-5
                          AND max_abs_diff(bert_logits(g ->> 'text', 'bert-tiny-random-cls'), l) < 1e-5) AS same
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl') JOIN shared_results USING (i);
SELECT name, weights, private_bytes, shared_bytes, cache_file,
       split_part(gemm_plan, ' ', 1) AS plan
FROM bert_models() ORDER BY name COLLATE "C";

--
-- a cache directory that cannot be made: one WARNING, then private copies
--
\c -
SET bert.model_dir = :'testmodels';
SET bert.cache_dir = '/dev/null/bert_cache';
SELECT max_abs_diff(bert_embed('Hello, world', 'bert-tiny-random-f16'), e16) < 1e-5 AS same
FROM shared_results WHERE i = 5;
SELECT max_abs_diff(bert_embed('Hello, world', 'bert-tiny-random-f16'), e16) < 1e-5 AS same_again
FROM shared_results WHERE i = 5;
SELECT name, weights, private_bytes, cache_file FROM bert_models();

--
-- bert.gemm_strategy forces one way of calling OpenBLAS for the models
-- loaded after it is set; results stay within float rounding
--
\c -
SET bert.model_dir = :'testmodels';
SET bert.gemm_strategy = 'nn_tiled';
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(g ->> 'text', 'bert-tiny-random-f16'), e16) < 1e-5
                          AND max_abs_diff(bert_logits(g ->> 'text', 'bert-tiny-random-cls'), l) < 1e-5) AS same
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl') JOIN shared_results USING (i);
SELECT name, weights, private_bytes, cache_file ~ '-kn\.bert$' AS transposed_copy,
       regexp_replace(gemm_plan, '^forced [^;]*', 'forced') AS plan
FROM bert_models() ORDER BY name COLLATE "C";
\c -
SET bert.model_dir = :'testmodels';
SET bert.gemm_strategy = 'nt';
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_logits(g ->> 'text', 'bert-tiny-random-cls'), l) < 1e-5) AS same
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl') JOIN shared_results USING (i);
-- an F32 model with weights as stored needs no cache file
SELECT name, weights, private_bytes, cache_file,
       regexp_replace(gemm_plan, '^forced [^;]*', 'forced') AS plan
FROM bert_models();
SET bert.gemm_strategy = 'fastest';

--
-- both settings are superuser-only: the server writes files there
--
SET client_min_messages = warning;
DROP ROLE IF EXISTS bert_cache_user;
RESET client_min_messages;
CREATE ROLE bert_cache_user;
SET ROLE bert_cache_user;
SET bert.cache_dir = '/tmp';
SET bert.gemm_strategy = 'nn';
SHOW bert.cache_dir;
RESET ROLE;
DROP ROLE bert_cache_user;
DROP TABLE shared_results;

--
-- the 1.0 -> 1.1 upgrade, in a database of its own: bert_models() gains
-- its columns
--
\set regress_db :DBNAME
CREATE DATABASE bert_upgrade_test;
\c bert_upgrade_test
CREATE EXTENSION bert VERSION '1.0';
SELECT array_length(p.proargnames, 1) AS bert_models_columns
FROM pg_proc p WHERE p.oid = 'bert_models()'::regprocedure;
SET bert.model_dir = :'testmodels';
SELECT bert_token_ids('a', 'bert-tiny-random-f16');
-- the 1.1 library serves the 1.0 definition
SELECT name, private_bytes FROM bert_models();
ALTER EXTENSION bert UPDATE TO '1.1';
SELECT extversion FROM pg_extension WHERE extname = 'bert';
SELECT p.proargnames[17:] AS new_columns
FROM pg_proc p WHERE p.oid = 'bert_models()'::regprocedure;
SELECT name, weights, private_bytes FROM bert_models();
\c :regress_db
DROP DATABASE bert_upgrade_test;
