--
-- batching: plain queries over many rows run the model calls in batches (a
-- BertBatch node under the node that evaluates them), with the results of
-- one call per row: labels equal, floats within 1e-5 (the packed forward
-- pass sums in another order; about 1e-7 in practice)
--
-- BERT_DATA is ../shared/data (the 872 sentences of SST-2 dev).
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
\getenv data BERT_DATA
\getenv badmodels BERT_BADMODELS
\set sst2_file :data '/reviews/sst2_dev.tsv'

CREATE TABLE sst2_dev (id serial PRIMARY KEY, label int, sentence text);
COPY sst2_dev (label, sentence) FROM :'sst2_file'
    WITH (FORMAT csv, DELIMITER E'\t', QUOTE E'\b');
ANALYZE sst2_dev;
SELECT count(*) AS rows, count(DISTINCT sentence) AS distinct_sentences FROM sst2_dev;

-- the first statement of a session: the library is not loaded yet when the
-- planner starts; planning loads it (bert_batch_support, the support
-- function of the batchable functions) and the statement is batched
SELECT count(*) AS libraries_loaded FROM pg_settings WHERE name LIKE 'bert.%';
EXPLAIN (COSTS OFF)
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev;
SELECT p.oid::regprocedure AS function, p.prosupport
FROM pg_proc p
WHERE p.proname IN ('bert_sentiment', 'bert_logits', 'bert_embed', 'bert_next_sentence',
                    'bert_classify', 'bert_rerank_score')
  AND NOT p.proretset
ORDER BY p.oid::regprocedure::text COLLATE "C";
LOAD 'bert';
SET bert.model_dir = :'models';

-- the setting: on by default, anyone may change it
SELECT name, setting, context, vartype FROM pg_settings
WHERE name = 'bert.batch_queries';

--
-- plans: where the node goes
--
-- a scan's target list: BertBatch projects it over the scan
EXPLAIN (COSTS OFF)
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev;
-- VERBOSE shows the calls it computes; the scan keeps its filter
EXPLAIN (COSTS OFF, VERBOSE)
SELECT id, upper(bert_sentiment(sentence, 'bert-mini-sentiment')) AS label,
       bert_embed(sentence, 'bert-mini-embed') AS emb
FROM sst2_dev WHERE label = 1;
-- every batchable function, without the model argument too
EXPLAIN (COSTS OFF, VERBOSE)
SELECT bert_sentiment(sentence), bert_logits(sentence), bert_embed(sentence),
       bert_next_sentence(sentence, 'and then?'),
       bert_next_sentence(sentence, 'and then?', 'bert-mini-mlm')
FROM sst2_dev;
-- an equal call twice is computed once
EXPLAIN (COSTS OFF, VERBOSE)
SELECT bert_sentiment(sentence, 'bert-mini-sentiment'),
       bert_sentiment(sentence, 'bert-mini-sentiment') = 'POSITIVE'
FROM sst2_dev;
-- aggregates over calls, and calls in FILTER: BertBatch under the Agg
EXPLAIN (COSTS OFF, VERBOSE)
SELECT count(bert_sentiment(sentence, 'bert-mini-sentiment')) FROM sst2_dev;
EXPLAIN (COSTS OFF)
SELECT count(*) FILTER (WHERE bert_sentiment(sentence, 'bert-mini-sentiment') = 'POSITIVE')
FROM sst2_dev;
-- CREATE TABLE AS, INSERT ... SELECT, UPDATE
EXPLAIN (COSTS OFF)
CREATE TABLE emb AS SELECT id, bert_embed(sentence, 'bert-mini-embed') AS e FROM sst2_dev;
CREATE TABLE emb (id int, sentence text, e real[]);
EXPLAIN (COSTS OFF)
INSERT INTO emb SELECT id, sentence, bert_embed(sentence, 'bert-mini-embed') FROM sst2_dev;
EXPLAIN (COSTS OFF)
UPDATE emb SET e = bert_embed(sentence, 'bert-mini-embed');
-- a sort above the calls, and a join below them
EXPLAIN (COSTS OFF)
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev ORDER BY id DESC;
EXPLAIN (COSTS OFF)
SELECT a.id, bert_next_sentence(a.sentence, b.sentence, 'bert-mini-mlm')
FROM sst2_dev a JOIN sst2_dev b ON b.id = a.id + 1;
-- not batched: calls that per-row execution may skip (CASE, COALESCE, AND,
-- a FILTERed aggregate's argument), calls in quals, and a Result that
-- LIMIT's bound passes through to a top-N sort
EXPLAIN (COSTS OFF)
SELECT CASE WHEN label = 1 THEN bert_sentiment(sentence, 'bert-mini-sentiment') END,
       coalesce(sentence, bert_sentiment(sentence, 'bert-mini-sentiment')),
       label = 1 AND bert_sentiment(sentence, 'bert-mini-sentiment') = 'POSITIVE'
FROM sst2_dev;
EXPLAIN (COSTS OFF)
SELECT count(bert_sentiment(sentence, 'bert-mini-sentiment')) FILTER (WHERE label = 1)
FROM sst2_dev;
EXPLAIN (COSTS OFF)
SELECT id FROM sst2_dev WHERE bert_sentiment(sentence, 'bert-mini-sentiment') = 'POSITIVE';
EXPLAIN (COSTS OFF)
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev ORDER BY id DESC LIMIT 3;
-- a generated column is computed row by row on INSERT: nothing to batch
CREATE TABLE gen (id int, body text,
                  label text GENERATED ALWAYS AS (bert_sentiment(body, 'bert-mini-sentiment')) STORED);
EXPLAIN (COSTS OFF)
INSERT INTO gen (id, body) SELECT id, sentence FROM sst2_dev;
DROP TABLE gen;
-- setting off: the plain plan
SET bert.batch_queries = off;
EXPLAIN (COSTS OFF)
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev;
RESET bert.batch_queries;

--
-- the results of one call per row, on all 872 sentences (the per-row label
-- is the argmax of the per-row logits, as bert_sentiment computes it)
--
SET bert.batch_queries = off;
CREATE TEMP TABLE per_row AS
SELECT id, bert_logits(sentence, 'bert-mini-sentiment') AS logits,
       bert_embed(sentence, 'bert-mini-embed') AS emb
FROM sst2_dev;
ALTER TABLE per_row ADD COLUMN label text;
UPDATE per_row SET label = CASE WHEN logits[2] > logits[1] THEN 'POSITIVE' ELSE 'NEGATIVE' END;
RESET bert.batch_queries;
CREATE TEMP TABLE batched AS
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label,
       bert_logits(sentence, 'bert-mini-sentiment') AS logits,
       bert_embed(sentence, 'bert-mini-embed') AS emb
FROM sst2_dev;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE b.label = p.label) AS same_label,
       count(*) FILTER (WHERE max_abs_diff(b.logits, p.logits) < 1e-5) AS logits_within_1e5,
       count(*) FILTER (WHERE max_abs_diff(b.emb, p.emb) < 1e-5) AS emb_within_1e5,
       count(*) FILTER (WHERE cardinality(b.emb) = 256) AS emb_256
FROM per_row p JOIN batched b USING (id);
-- the label is the argmax of the logits
SELECT count(*) FILTER (WHERE (label = 'POSITIVE') = (logits[2] > logits[1])) AS label_is_argmax
FROM batched;

-- the tiny test models on the same sentences: cheaper, for the checks
-- below that are about plan shapes rather than the model
SET bert.model_dir = :'testmodels';
SET bert.batch_queries = off;
CREATE TEMP TABLE tiny_row AS
SELECT a.id, bert_sentiment(a.sentence, 'bert-tiny-random-cls') AS label,
       bert_logits(a.sentence, 'distilbert-tiny-random-cls') AS logits,
       bert_next_sentence(a.sentence, b.sentence, 'bert-tiny-random-pretrain') AS nsp
FROM sst2_dev a LEFT JOIN sst2_dev b ON b.id = a.id + 1;
RESET bert.batch_queries;
-- aggregates over calls give the per-row counts
SELECT count(bert_sentiment(sentence, 'bert-tiny-random-cls')) AS n,
       count(*) FILTER (WHERE bert_sentiment(sentence, 'bert-tiny-random-cls') = 'neutral') AS neutral,
       (SELECT count(*) FILTER (WHERE label = 'neutral') FROM tiny_row) AS neutral_per_row
FROM sst2_dev;
-- sentence pairs (a join below the calls): bert_next_sentence, the last
-- sentence without a pair (NULL)
CREATE TEMP TABLE tiny_batch AS
SELECT a.id, bert_sentiment(a.sentence, 'bert-tiny-random-cls') AS label,
       bert_logits(a.sentence, 'distilbert-tiny-random-cls') AS logits,
       bert_next_sentence(a.sentence, b.sentence, 'bert-tiny-random-pretrain') AS nsp
FROM sst2_dev a LEFT JOIN sst2_dev b ON b.id = a.id + 1;
SELECT count(*) AS rows, count(*) FILTER (WHERE b.label = r.label) AS same_label,
       count(*) FILTER (WHERE max_abs_diff(b.logits, r.logits) < 1e-5) AS logits_within_1e5,
       count(*) FILTER (WHERE abs(r.nsp - b.nsp) < 1e-5) AS nsp_within_1e5,
       count(*) FILTER (WHERE b.nsp IS NULL AND r.nsp IS NULL) AS nsp_null,
       count(*) FILTER (WHERE b.nsp BETWEEN 0 AND 1) AS probabilities
FROM tiny_row r JOIN tiny_batch b USING (id);
-- the pair functions: classification, raw logits and cross-encoder scores
-- of (sentence, next sentence)
EXPLAIN (COSTS OFF, VERBOSE)
SELECT bert_classify(a.sentence, b.sentence, 'bert-tiny-random-nli'),
       bert_logits(a.sentence, b.sentence, 'bert-tiny-random-nli'),
       bert_rerank_score(a.sentence, b.sentence, 'bert-tiny-random-rerank')
FROM sst2_dev a JOIN sst2_dev b ON b.id = a.id + 1;
SET bert.batch_queries = off;
CREATE TEMP TABLE pair_row AS
SELECT a.id, bert_classify(a.sentence, b.sentence, 'bert-tiny-random-nli') AS label,
       bert_logits(a.sentence, b.sentence, 'bert-tiny-random-nli') AS logits,
       bert_rerank_score(a.sentence, b.sentence, 'bert-tiny-random-rerank') AS score
FROM sst2_dev a LEFT JOIN sst2_dev b ON b.id = a.id + 1;
RESET bert.batch_queries;
SELECT count(*) AS rows, count(*) FILTER (WHERE b.label = r.label) AS same_label,
       count(*) FILTER (WHERE max_abs_diff(b.logits, r.logits) < 1e-5) AS logits_within_1e5,
       count(*) FILTER (WHERE abs(b.score - r.score) < 1e-5) AS score_within_1e5,
       count(*) FILTER (WHERE b.label IS NULL AND r.label IS NULL AND b.score IS NULL) AS null_pair
FROM pair_row r
JOIN (SELECT a.id, bert_classify(a.sentence, b.sentence, 'bert-tiny-random-nli') AS label,
             bert_logits(a.sentence, b.sentence, 'bert-tiny-random-nli') AS logits,
             bert_rerank_score(a.sentence, b.sentence, 'bert-tiny-random-rerank') AS score
      FROM sst2_dev a LEFT JOIN sst2_dev b ON b.id = a.id + 1) b USING (id);
-- a model with one token type refuses the pair, as per row
SET bert.model_dir = :'badmodels';
SELECT bert_classify(sentence, 'and another', 'cls-type-vocab-1') FROM sst2_dev;
SET bert.model_dir = :'models';

-- without a model argument the setting is read when the query runs
SET bert.sentiment_model = 'bert-mini-sentiment';
SET bert.embed_model = 'bert-mini-embed';
SELECT count(*) AS rows,
       count(*) FILTER (WHERE bert_sentiment(s.sentence) = p.label) AS same_label,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(s.sentence), p.emb) < 1e-5) AS same_emb
FROM sst2_dev s JOIN per_row p USING (id) WHERE id <= 100;
PREPARE labels AS
SELECT bert_sentiment(sentence) AS label, count(*) FROM sst2_dev WHERE id <= 40
GROUP BY 1 ORDER BY 1;
EXECUTE labels;
SET bert.model_dir = :'testmodels';
SET bert.sentiment_model = 'bert-tiny-random-cls';
EXECUTE labels;
SET bert.sentiment_model = '';
EXECUTE labels;
DEALLOCATE labels;
SET bert.model_dir = :'models';
RESET bert.sentiment_model;
RESET bert.embed_model;

-- UPDATE fills a column in batches (the backfill recipe)
INSERT INTO emb SELECT id, sentence, NULL FROM sst2_dev WHERE id <= 100;
UPDATE emb SET e = bert_embed(sentence, 'bert-mini-embed');
SELECT count(*) AS rows, count(*) FILTER (WHERE max_abs_diff(e.e, p.emb) < 1e-5) AS same_emb
FROM emb e JOIN per_row p USING (id);
-- INSERT ... SELECT and CREATE TABLE AS
TRUNCATE emb;
INSERT INTO emb SELECT id, sentence, bert_embed(sentence, 'bert-mini-embed') FROM sst2_dev WHERE id > 800;
CREATE TEMP TABLE ctas AS
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label FROM sst2_dev WHERE id > 800;
SELECT (SELECT count(*) FROM emb e JOIN per_row p USING (id) WHERE max_abs_diff(e.e, p.emb) < 1e-5) AS inserted_same,
       (SELECT count(*) FROM ctas c JOIN per_row p USING (id) WHERE c.label = p.label) AS ctas_same;

--
-- LIMIT and cursors: the first batch is one row, then 2, 4, ... 64
--
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev LIMIT 1;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev LIMIT 10;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(bert_sentiment(sentence, 'bert-mini-sentiment')) FROM sst2_dev;
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') FROM sst2_dev ORDER BY id LIMIT 3;

-- a cursor whose scrollability is decided from the plan: it could scan
-- backward without BertBatch, so a Material on top keeps FETCH BACKWARD
-- working (the subquery column is not batched, it stays in the scan)
EXPLAIN (COSTS OFF) DECLARE c CURSOR FOR
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label,
       (SELECT p.label FROM per_row p WHERE p.id = s.id) AS per_row
FROM sst2_dev s ORDER BY id;
BEGIN;
DECLARE c CURSOR FOR
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label,
       (SELECT p.label FROM per_row p WHERE p.id = s.id) AS per_row
FROM sst2_dev s ORDER BY id;
FETCH 1 FROM c;
FETCH 2 FROM c;
FETCH BACKWARD 1 FROM c;
MOVE FORWARD 100 IN c;
FETCH 2 FROM c;
FETCH BACKWARD 3 FROM c;
COMMIT;
BEGIN;
DECLARE s SCROLL CURSOR FOR
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label FROM sst2_dev WHERE id <= 6;
FETCH LAST FROM s;
FETCH PRIOR FROM s;
FETCH ABSOLUTE 2 FROM s;
FETCH FIRST FROM s;
FETCH FORWARD ALL FROM s;
FETCH BACKWARD 2 FROM s;
COMMIT;
SELECT id, label FROM per_row WHERE id <= 6 ORDER BY id;
BEGIN;
DECLARE n NO SCROLL CURSOR FOR
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label FROM sst2_dev WHERE id <= 6;
EXPLAIN (COSTS OFF) DECLARE n2 NO SCROLL CURSOR FOR
SELECT id, bert_sentiment(sentence, 'bert-mini-sentiment') AS label FROM sst2_dev;
FETCH 2 FROM n;
FETCH BACKWARD 1 FROM n;
ROLLBACK;

-- a cached plan made with the setting on runs one row per batch once it is off
PREPARE q AS SELECT count(bert_sentiment(sentence, 'bert-mini-sentiment')) FROM sst2_dev WHERE id <= 20;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q;
SET bert.batch_queries = off;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE q;
RESET bert.batch_queries;
DEALLOCATE q;

--
-- NULL, empty and huge inputs
--
CREATE TABLE odd (id int, t text, m text);
INSERT INTO odd VALUES
    (1, 'a fine and moving film', 'bert-mini-sentiment'),
    (2, NULL, 'bert-mini-sentiment'),
    (3, 'dull', NULL),
    (4, NULL, NULL),
    (5, '', 'bert-mini-sentiment'),
    (6, 'no model, no result', NULL),
    (7, 'the worst film of the year', 'bert-mini-sentiment');
EXPLAIN (COSTS OFF) SELECT id, bert_sentiment(t, m) FROM odd;
SELECT id, bert_sentiment(t, m) AS label, round((bert_logits(t, m))[1]::numeric, 3) AS logit0
FROM odd;
SET bert.batch_queries = off;
SELECT id, bert_sentiment(t, m) AS label, round((bert_logits(t, m))[1]::numeric, 3) AS logit0
FROM odd;
RESET bert.batch_queries;
-- NULL inputs never look at the model, even when none is configured
SET bert.sentiment_model = '';
SELECT count(*) AS rows, count(bert_sentiment(t)) AS labels FROM odd WHERE t IS NULL;
SELECT count(bert_sentiment(t)) FROM odd;
RESET bert.sentiment_model;
-- an empty table, a table of NULLs
CREATE TABLE empty (t text);
SELECT count(bert_sentiment(t, 'bert-mini-sentiment')) AS n FROM empty;
SELECT bert_embed(t, 'bert-mini-embed') FROM empty;
INSERT INTO empty SELECT NULL FROM generate_series(1, 100);
SELECT count(*) AS rows, count(bert_embed(t, 'no-such-model')) AS embeddings FROM empty;
-- huge texts: truncated to the model's 128 tokens, as per row
CREATE TABLE huge (id int, t text);
INSERT INTO huge SELECT g, repeat(CASE WHEN g % 2 = 0 THEN 'a wonderful film ' ELSE 'boring and bad ' END, 70000)
FROM generate_series(1, 4) g;
INSERT INTO huge SELECT 4 + id, sentence FROM sst2_dev WHERE id <= 4;
SET bert.batch_queries = off;
CREATE TEMP TABLE huge_row AS SELECT id, bert_logits(t, 'bert-mini-sentiment') AS l FROM huge;
RESET bert.batch_queries;
SELECT count(*) AS rows, count(*) FILTER (WHERE max_abs_diff(h.l, r.l) < 1e-5) AS same_logits,
       min(length(t)) < 100 AND max(length(t)) > 1000000 AS short_and_1mb
FROM (SELECT id, t, bert_logits(t, 'bert-mini-sentiment') AS l FROM huge) h JOIN huge_row r USING (id);
-- a batch also ends at 8 MB of arguments (3 MB each here)
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(bert_sentiment(t || repeat(' and more', 300000), 'bert-mini-sentiment')) FROM huge;
DROP TABLE huge, empty;

--
-- errors: the row whose input fails raises the per-row call's error
--
CREATE TABLE errs (id int, t text, m text);
INSERT INTO errs SELECT g, 'review number ' || g,
    CASE g WHEN 6 THEN 'no-such-model' ELSE 'bert-mini-sentiment' END
FROM generate_series(1, 10) g;
SELECT id, bert_sentiment(t, m) FROM errs;
SET bert.batch_queries = off;
SELECT id, bert_sentiment(t, m) FROM errs;
RESET bert.batch_queries;
UPDATE errs SET m = CASE id WHEN 3 THEN 'bert-mini-embed' ELSE 'bert-mini-sentiment' END;
SELECT id, bert_sentiment(t, m) FROM errs;
SET bert.batch_queries = off;
SELECT id, bert_sentiment(t, m) FROM errs;
RESET bert.batch_queries;
UPDATE errs SET m = 'bert-mini-sentiment';
-- an argument that fails in row 8
CREATE FUNCTION row_text(id int, t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF id = 8 THEN
        RAISE EXCEPTION 'bad input in row %', id;
    END IF;
    RETURN t;
END
$$;
SELECT id, bert_sentiment(row_text(id, t), m) FROM errs;
-- a cursor returns the rows before the failing row's batch (batches of 1,
-- 2 and 4 rows: rows 1 to 7), then the error
BEGIN;
DECLARE e NO SCROLL CURSOR FOR SELECT id, bert_sentiment(row_text(id, t), m) FROM errs;
FETCH 3 FROM e;
FETCH 4 FROM e;
FETCH 1 FROM e;
ROLLBACK;
-- a sentence pair for a model without token types
SET bert.model_dir = :'testmodels';
SELECT count(bert_next_sentence(t, t, 'distilbert-tiny-random-cls')) FROM errs;
SET bert.model_dir = :'models';
-- more models in one batch than the 8-entry model cache holds: each model's
-- rows are computed before the next model is looked up
SET bert.model_dir = :'testmodels';
CREATE TEMP TABLE many AS
SELECT g AS id, 'text number ' || g AS t, m
FROM generate_series(1, 30) g,
     LATERAL (SELECT (ARRAY['bert-tiny-random', 'bert-tiny-random-f16', 'bert-tiny-random-bf16',
                            'bert-tiny-random-cls', 'distilbert-tiny-random-cls',
                            'bert-tiny-random-pretrain', 'bert-tiny-random-ner',
                            'bert-tiny-random-nli', 'bert-tiny-random-rerank',
                            'bert-tiny-random-qa'])[1 + g % 10] AS m) x;
SET bert.batch_queries = off;
CREATE TEMP TABLE many_row AS SELECT id, bert_embed(t, m) AS e FROM many;
RESET bert.batch_queries;
SELECT count(*) AS rows, count(DISTINCT m) AS models,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(t, m), r.e) < 1e-5) AS same_emb
FROM many JOIN many_row r USING (id);
SET bert.model_dir = :'models';
-- EXECUTE privilege is checked as for a per-row call
CREATE ROLE regress_bert_batch;
GRANT SELECT ON errs TO regress_bert_batch;
REVOKE EXECUTE ON FUNCTION bert_sentiment(text, text) FROM PUBLIC;
SET ROLE regress_bert_batch;
EXPLAIN (COSTS OFF) SELECT bert_sentiment(t, m) FROM errs;
SELECT count(bert_sentiment(t, m)) FROM errs;
SET bert.batch_queries = off;
SELECT count(bert_sentiment(t, m)) FROM errs;
RESET bert.batch_queries;
RESET ROLE;
GRANT EXECUTE ON FUNCTION bert_sentiment(text, text) TO PUBLIC;
REVOKE SELECT ON errs FROM regress_bert_batch;
DROP ROLE regress_bert_batch;
-- a function redefined with a SET clause (or SECURITY DEFINER) is called
-- per row, so that fmgr applies the clause
ALTER FUNCTION bert_sentiment(text) SET bert.sentiment_model = 'bert-mini-sentiment';
EXPLAIN (COSTS OFF) SELECT bert_sentiment(t) FROM errs;
SELECT count(*) FILTER (WHERE bert_sentiment(t) IS NOT NULL) AS labels FROM errs;
ALTER FUNCTION bert_sentiment(text) RESET ALL;
EXPLAIN (COSTS OFF) SELECT bert_sentiment(t) FROM errs;
-- track_functions counts one call per row with non-NULL arguments, as per row
UPDATE errs SET t = NULL WHERE id % 3 = 0;
BEGIN;
SET LOCAL track_functions = 'all';
SELECT count(bert_sentiment(t, m)) AS labels FROM errs;
SELECT pg_stat_get_xact_function_calls('bert_sentiment(text, text)'::regprocedure) AS batched_calls;
SET LOCAL bert.batch_queries = off;
SELECT count(bert_sentiment(t, m)) AS labels FROM errs;
SELECT pg_stat_get_xact_function_calls('bert_sentiment(text, text)'::regprocedure) AS all_calls;
COMMIT;
-- query cancel stops a batched query
SET statement_timeout = '300ms';
SELECT count(bert_sentiment(s.sentence, 'bert-mini-sentiment')) FROM sst2_dev s, generate_series(1, 20);
RESET statement_timeout;
DROP FUNCTION row_text(int, text);

--
-- rescans: BertBatch in a correlated subquery and on the inner side of a
-- nested loop, with the outer row's text inside the call
--
EXPLAIN (COSTS OFF)
SELECT a.id, (SELECT bert_sentiment(b.sentence, 'bert-mini-sentiment') FROM sst2_dev b WHERE b.id = a.id)
FROM sst2_dev a WHERE a.id <= 5;
SELECT a.id, (SELECT bert_sentiment(b.sentence, 'bert-mini-sentiment') FROM sst2_dev b WHERE b.id = a.id) = p.label AS same
FROM sst2_dev a JOIN per_row p USING (id) WHERE a.id <= 5 ORDER BY a.id;
EXPLAIN (COSTS OFF)
SELECT a.id, x.n, x.label
FROM (SELECT * FROM sst2_dev WHERE id <= 3) a,
     LATERAL (SELECT b.id AS n, bert_sentiment(a.sentence || ' ' || b.sentence, 'bert-mini-sentiment') AS label
              FROM sst2_dev b WHERE b.id <= 5 OFFSET 0) x;
SET bert.batch_queries = off;
CREATE TEMP TABLE lateral_row AS
SELECT a.id, x.n, x.label
FROM (SELECT * FROM sst2_dev WHERE id <= 3) a,
     LATERAL (SELECT b.id AS n, bert_sentiment(a.sentence || ' ' || b.sentence, 'bert-mini-sentiment') AS label
              FROM sst2_dev b WHERE b.id <= 5 OFFSET 0) x;
RESET bert.batch_queries;
CREATE TEMP TABLE lateral_batch AS
SELECT a.id, x.n, x.label
FROM (SELECT * FROM sst2_dev WHERE id <= 3) a,
     LATERAL (SELECT b.id AS n, bert_sentiment(a.sentence || ' ' || b.sentence, 'bert-mini-sentiment') AS label
              FROM sst2_dev b WHERE b.id <= 5 OFFSET 0) x;
SELECT (SELECT count(*) FROM lateral_batch) AS rows,
       (SELECT count(*) FROM (TABLE lateral_row EXCEPT ALL TABLE lateral_batch) d) AS different;

--
-- parallel workers: the calls run batched in the workers
--
SET bert.model_dir = :'testmodels';
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
CREATE TABLE par AS
SELECT id, bert_sentiment(sentence, 'bert-tiny-random-cls') AS label,
       bert_logits(sentence, 'distilbert-tiny-random-cls') AS logits
FROM sst2_dev;
CREATE TABLE par AS
SELECT id, bert_sentiment(sentence, 'bert-tiny-random-cls') AS label,
       bert_logits(sentence, 'distilbert-tiny-random-cls') AS logits
FROM sst2_dev;
EXPLAIN (COSTS OFF)
SELECT count(bert_sentiment(sentence, 'bert-tiny-random-cls')) FROM sst2_dev;
SELECT count(bert_sentiment(sentence, 'bert-tiny-random-cls')) AS n,
       count(*) FILTER (WHERE bert_sentiment(sentence, 'bert-tiny-random-cls') = 'neutral') AS neutral
FROM sst2_dev;
-- JIT-compiled argument expressions in the workers
SET jit_above_cost = 0;
SET jit_optimize_above_cost = 0;
SET jit_inline_above_cost = 0;
CREATE TABLE par_jit AS
SELECT id, bert_sentiment(lower(sentence) || '', 'bert-tiny-random-cls') AS label FROM sst2_dev;
RESET jit_above_cost;
RESET jit_optimize_above_cost;
RESET jit_inline_above_cost;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE r.label = p.label) AS same_label,
       count(*) FILTER (WHERE max_abs_diff(r.logits, p.logits) < 1e-5) AS logits_within_1e5,
       count(*) FILTER (WHERE j.label = p.label) AS jit_same_label
FROM par r JOIN tiny_row p USING (id) JOIN par_jit j USING (id);
SET bert.model_dir = :'models';

DROP TABLE par, par_jit, emb, odd, errs, sst2_dev;
