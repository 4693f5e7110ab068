--
-- setup: the installed extension, the test environment, and helpers that
-- the later test files (tokenizer, embed, sentiment, settings, errors) use.
--
-- The model directories come from the environment (psql 15 \getenv):
--   BERT_TESTMODELS  ../shared/testmodels   tiny random models + golden/
--   BERT_MODELS      ../shared/models       trained demo models + golden/
--   BERT_BADMODELS   test/fixtures/make_bad_models.py's output
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
\getenv badmodels BERT_BADMODELS

-- pg_regress --load-extension=bert has created the extension
SELECT extname, extversion, extrelocatable
FROM pg_extension WHERE extname = 'bert';

-- the SQL functions these tests cover, with volatility, parallel safety,
-- strictness, set-returning, and whether they have a comment
SELECT f AS function, p.provolatile AS vol, p.proparallel AS par,
       p.proisstrict AS strict, p.proretset AS setof,
       p.prorettype::regtype AS returns,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM unnest(ARRAY[
        'bert_tokenize(text)', 'bert_tokenize(text,text)',
        'bert_token_ids(text)', 'bert_token_ids(text,text)',
        'bert_embed(text)', 'bert_embed(text,text)',
        'bert_last_hidden_state(text)', 'bert_last_hidden_state(text,text)',
        'bert_pooler_output(text)', 'bert_pooler_output(text,text)',
        'bert_cosine_similarity(real[],real[])',
        'bert_sentiment(text)', 'bert_sentiment(text,text)',
        'bert_sentiment_scores(text)', 'bert_sentiment_scores(text,text)',
        'bert_logits(text)', 'bert_logits(text,text)',
        'bert_fill_mask(text,integer)', 'bert_fill_mask(text,text,integer)',
        'bert_next_sentence(text,text)', 'bert_next_sentence(text,text,text)',
        'bert_ner(text)', 'bert_ner(text,text)',
        'bert_answer(text,text,integer)', 'bert_answer(text,text,text,integer)',
        'bert_token_logits(text,text)', 'bert_token_logits(text,text,text)',
        'bert_embed(text[])', 'bert_embed(text[],text)',
        'bert_sentiment(text[])', 'bert_sentiment(text[],text)',
        'bert_models()']) WITH ORDINALITY AS u(f, n)
LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f)
ORDER BY n;

-- every function of the extension: STRICT, commented, PARALLEL SAFE except
-- bert_models() (it reads this backend's cache); IMMUTABLE, except
-- bert_models() and the 14 forms that take their model from a setting,
-- which are STABLE (volatility.sql); the training functions, which write
-- models, are checked by train.sql
SELECT count(*) > 0 AS has_functions,
       count(*) FILTER (WHERE NOT p.proisstrict) AS not_strict,
       count(*) FILTER (WHERE obj_description(p.oid, 'pg_proc') IS NULL) AS no_comment,
       count(*) FILTER (WHERE p.proname <> 'bert_models' AND p.proparallel <> 's') AS not_parallel_safe,
       count(*) FILTER (WHERE p.provolatile = 's') AS stable,
       count(*) FILTER (WHERE p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')) AS not_c
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                 AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'bert')
  AND p.proname NOT IN ('bert_finetune', 'bert_finetune_tokens', 'bert_finetune_entities',
                        'bert_pretrain', 'bert_training_progress');

-- output columns of the set-returning functions
SELECT f AS function, p.proargnames[p.pronargs + 1:] AS out_columns
FROM unnest(ARRAY['bert_models()', 'bert_sentiment_scores(text,text)',
                  'bert_fill_mask(text,text,integer)', 'bert_ner(text,text)',
                  'bert_answer(text,text,text,integer)',
                  'bert_token_logits(text,text,text)']) WITH ORDINALITY AS u(f, n)
LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f)
ORDER BY n;

-- the model directories are where the environment says
SELECT m AS testmodel, m IN (SELECT pg_ls_dir(:'testmodels')) AS present
FROM unnest(ARRAY['bert-tiny-random', 'bert-tiny-random-f16',
                  'bert-tiny-random-bf16', 'bert-tiny-random-cls',
                  'distilbert-tiny-random-cls', 'golden']) AS m;
SELECT m AS model, m IN (SELECT pg_ls_dir(:'models')) AS present
FROM unnest(ARRAY['bert-mini-embed', 'bert-mini-sentiment', 'golden']) AS m;
-- the fixtures of test/fixtures/make_bad_models.py
SELECT name FROM pg_ls_dir(:'badmodels') AS name ORDER BY name COLLATE "C";

--
-- Helpers (kept for the whole run: every test file runs in this database)
--

-- golden outputs: one json per line of a .jsonl file, i = line number from
-- 0; "\u0000" (one input has a NUL, which text cannot hold and which the
-- tokenizer drops anyway) is removed first
CREATE FUNCTION golden(file text) RETURNS TABLE (i int, g json)
LANGUAGE sql STRICT
AS $$
    SELECT (n - 1)::int, replace(line, '\u0000', '')::json
    FROM regexp_split_to_table(pg_read_file(file), E'\n')
         WITH ORDINALITY AS t(line, n)
    WHERE line <> ''
$$;

-- a json array of numbers (1-D or 2-D, flattened row by row) as float8[]
CREATE FUNCTION json_floats(j json) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT CASE json_typeof(j -> 0)
        WHEN 'array' THEN
            (SELECT array_agg(x::float8 ORDER BY r, c)
             FROM json_array_elements(j) WITH ORDINALITY AS a(row, r),
                  json_array_elements_text(row) WITH ORDINALITY AS b(x, c))
        ELSE
            (SELECT array_agg(x::float8 ORDER BY c)
             FROM json_array_elements_text(j) WITH ORDINALITY AS b(x, c))
        END
$$;

CREATE FUNCTION json_ints(j json) RETURNS int[]
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT array_agg(x::int ORDER BY c)
    FROM json_array_elements_text(j) WITH ORDINALITY AS b(x, c)
$$;

-- largest |a_i - b_i| over all elements (any dimensions); NULL if the
-- element counts differ
CREATE FUNCTION max_abs_diff(a real[], b float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT CASE WHEN cardinality(a) = cardinality(b) THEN
        (SELECT coalesce(max(abs(x - y)), 0) FROM unnest(a, b) AS u(x, y))
    END
$$;

CREATE FUNCTION l2_norm(a real[]) RETURNS float8
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT sqrt(sum(x::float8 * x)) FROM unnest(a) AS x
$$;

-- the SQLSTATE a statement fails with, or 'ok'; for checking an error's
-- class where its text is not part of the test
CREATE FUNCTION sqlstate_of(stmt text) RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- the helpers work
SELECT count(*) AS golden_rows,
       max(cardinality(json_ints(g -> 'input_ids'))) AS longest,
       max(cardinality(json_floats(g -> 'last_hidden_state'))) AS lhs_floats
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl');
SELECT max_abs_diff('{1,2,3}', '{1,2.5,2}'), max_abs_diff('{1}', '{1,2}'),
       l2_norm('{3,4}'), sqlstate_of('SELECT 1/0'), sqlstate_of('SELECT 1');
