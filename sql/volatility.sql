--
-- volatility: the forms without a model argument read a setting that any
-- session may change, so they are STABLE, as PostgreSQL's to_tsvector(text)
-- (it reads default_text_search_config); the forms that name their model
-- are IMMUTABLE, as to_tsvector(regconfig, text), and are the ones that
-- generated columns and expression indexes accept.
--
\getenv testmodels BERT_TESTMODELS
SET bert.model_dir = :'testmodels';

-- the precedent
SELECT f::regprocedure AS function, provolatile
FROM unnest(ARRAY['to_tsvector(text)', 'to_tsvector(regconfig,text)']) AS f
JOIN pg_proc p ON p.oid = f::regprocedure;

-- every model function of the extension, its volatility (the view is
-- made again in the upgrade database below)
-- (the training functions, VOLATILE PARALLEL UNSAFE, are checked by train.sql)
\set volatility_view 'CREATE VIEW bert_volatility AS SELECT p.oid::regprocedure::text AS function, p.provolatile AS vol, p.proparallel AS par FROM pg_proc p JOIN pg_depend d ON d.classid = ''pg_proc''::regclass AND d.objid = p.oid AND d.deptype = ''e'' WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = ''bert'') AND p.proname NOT IN (''bert_finetune'', ''bert_finetune_tokens'', ''bert_finetune_entities'', ''bert_pretrain'', ''bert_training_progress'')'
:volatility_view;
SELECT extversion FROM pg_extension WHERE extname = 'bert';
SELECT function, vol, par FROM bert_volatility ORDER BY function COLLATE "C";

--
-- an index or a generated column on a setting-reading form is refused ...
--
CREATE TABLE docs (id int PRIMARY KEY, body text);
CREATE INDEX ON docs (bert_embed(body));
CREATE INDEX ON docs (bert_sentiment(body));
CREATE INDEX ON docs (bert_token_ids(body));
ALTER TABLE docs ADD COLUMN emb real[] GENERATED ALWAYS AS (bert_embed(body)) STORED;
ALTER TABLE docs ADD COLUMN label text GENERATED ALWAYS AS (bert_sentiment(body)) STORED;

-- ... and one that names its model is accepted: a session whose setting
-- names another model changes neither what is stored nor what the index
-- finds
CREATE INDEX docs_label ON docs (bert_sentiment(body, 'bert-tiny-random-cls'));
ALTER TABLE docs ADD COLUMN emb real[]
    GENERATED ALWAYS AS (bert_embed(body, 'bert-tiny-random')) STORED;
SET bert.embed_model = 'distilbert-tiny-random-cls';
SET bert.sentiment_model = 'distilbert-tiny-random-cls';
INSERT INTO docs (id, body)
SELECT i, g ->> 'text' FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl');
-- (the FILTER runs batched, summing in another order: equal within 1e-5)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE max_abs_diff(emb, bert_embed(body, 'bert-tiny-random')) < 1e-5) AS stored_as_named,
       count(*) FILTER (WHERE max_abs_diff(emb, bert_embed(body)) < 1e-5) AS as_the_session_model
FROM docs;
ANALYZE docs;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM docs WHERE bert_sentiment(body, 'bert-tiny-random-cls') = 'positive';
SELECT array_agg(id ORDER BY id) = (SELECT array_agg(id ORDER BY id) FROM docs
                                    WHERE bert_sentiment(body, 'bert-tiny-random-cls') || '' = 'positive')
       AS index_agrees
FROM docs WHERE bert_sentiment(body, 'bert-tiny-random-cls') = 'positive';
RESET enable_seqscan;
RESET bert.embed_model;
RESET bert.sentiment_model;
DROP TABLE docs;

-- a STABLE call is not folded into a constant when a plan is made, so a
-- cached plan follows the setting (an IMMUTABLE one kept the label of the
-- model named when the statement was prepared)
SET bert.sentiment_model = 'bert-tiny-random-cls';
PREPARE label_hello AS SELECT bert_sentiment('Hello, world');
EXECUTE label_hello;
SET bert.sentiment_model = 'distilbert-tiny-random-cls';
EXECUTE label_hello;
SELECT bert_sentiment('Hello, world', 'distilbert-tiny-random-cls') AS named;
DEALLOCATE label_hello;
RESET bert.sentiment_model;

--
-- the upgrade from the released 1.0, in a database of its own: every
-- function IMMUTABLE there, and after ALTER EXTENSION UPDATE the same
-- volatility as CREATE EXTENSION at 1.1 gives
--
CREATE TEMP TABLE v11 AS SELECT * FROM bert_volatility;
SELECT current_database() AS regress_db \gset
SELECT string_agg(format('%s|%s|%s', function, vol, par), ',' ORDER BY function COLLATE "C") AS v11
FROM v11 \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS bert_regress_upgrade;
RESET client_min_messages;
CREATE DATABASE bert_regress_upgrade TEMPLATE template0;
\c bert_regress_upgrade
CREATE EXTENSION bert VERSION '1.0';
:volatility_view;
SELECT extversion, count(*) AS functions,
       string_agg(DISTINCT vol::text, ',') FILTER (WHERE function <> 'bert_models()') AS volatility
FROM pg_extension, bert_volatility WHERE extname = 'bert' GROUP BY extversion;
ALTER EXTENSION bert UPDATE TO '1.1';
SELECT extversion, count(*) AS functions,
       count(*) FILTER (WHERE vol = 's') AS stable,
       string_agg(format('%s|%s|%s', function, vol, par), ',' ORDER BY function COLLATE "C") = :'v11'
           AS same_as_created_at_1_1
FROM pg_extension, bert_volatility WHERE extname = 'bert' GROUP BY extversion;
-- the comments of 1.1 are in place
SELECT obj_description('bert_ner(text,text)'::regprocedure, 'pg_proc') LIKE '%units substr() counts%' AS ner_comment;
\c :regress_db
DROP DATABASE bert_regress_upgrade;
DROP VIEW bert_volatility;
