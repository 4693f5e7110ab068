--
-- sentiment: bert_sentiment(), bert_sentiment_scores() and bert_logits()
-- against the golden files of three sequence classifiers (BERT with 3
-- labels, DistilBERT, and the trained bert-mini-sentiment)
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
LOAD 'bert';

CREATE TEMP TABLE g_cls AS
SELECT model, i, g ->> 'text' AS text, g ->> 'label' AS label,
       json_floats(g -> 'probs') AS probs, json_floats(g -> 'logits') AS logits
FROM unnest(ARRAY['bert-tiny-random-cls', 'distilbert-tiny-random-cls']) AS model,
     golden(:'testmodels' || '/golden/' || model || '.jsonl');
INSERT INTO g_cls
SELECT 'bert-mini-sentiment', i, g ->> 'text', g ->> 'label',
       json_floats(g -> 'probs'), json_floats(g -> 'logits')
FROM golden(:'models' || '/golden/bert-mini-sentiment.jsonl');

-- NULL in, NULL out
SET bert.model_dir = :'testmodels';
SELECT bert_sentiment(NULL, 'bert-tiny-random-cls') IS NULL AS t1,
       bert_sentiment('x', NULL) IS NULL AS t2,
       bert_sentiment(NULL) IS NULL AS t3,
       bert_logits(NULL, 'bert-tiny-random-cls') IS NULL AS t4,
       bert_logits(NULL) IS NULL AS t5;
SELECT count(*) AS no_rows FROM bert_sentiment_scores(NULL, 'bert-tiny-random-cls');
SELECT count(*) AS no_rows FROM bert_sentiment_scores(NULL);

--
-- BertForSequenceClassification, 3 labels (id2label negative/neutral/positive)
--
SELECT * FROM bert_sentiment_scores('This film was a complete waste of time.', 'bert-tiny-random-cls')
WHERE false;  -- column names and types
SELECT label, round(score::numeric, 4) AS score
FROM bert_sentiment_scores('This film was a complete waste of time.', 'bert-tiny-random-cls');
-- label, probabilities (golden, rounded), raw logits for a few inputs
SELECT i, text, bert_sentiment(text, model) AS label, label AS golden_label,
       (SELECT array_agg(round(s.score::numeric, 4) ORDER BY n)
        FROM bert_sentiment_scores(text, model) WITH ORDINALITY AS s(l, score, n)) AS scores,
       max_abs_diff(bert_logits(text, model), logits) < 1e-4 AS golden_logits
FROM g_cls WHERE model = 'bert-tiny-random-cls' AND i IN (1, 8, 11)
ORDER BY i;
SELECT i, array_agg(round(x::numeric, 3) ORDER BY n) AS logits
FROM g_cls, unnest(bert_logits(text, model)) WITH ORDINALITY AS u(x, n)
WHERE model = 'bert-tiny-random-cls' AND i IN (8, 11)
GROUP BY i ORDER BY i;

--
-- DistilBertForSequenceClassification: pre_classifier + ReLU + classifier
--
SELECT i, text, bert_sentiment(text, model) AS label, label AS golden_label,
       (SELECT array_agg(round(s.score::numeric, 4) ORDER BY n)
        FROM bert_sentiment_scores(text, model) WITH ORDINALITY AS s(l, score, n)) AS scores,
       max_abs_diff(bert_logits(text, model), logits) < 1e-4 AS golden_logits
FROM g_cls WHERE model = 'distilbert-tiny-random-cls' AND i IN (1, 5, 7)
ORDER BY i;
SELECT i, array_agg(round(x::numeric, 3) ORDER BY n) AS logits
FROM g_cls, unnest(bert_logits(text, model)) WITH ORDINALITY AS u(x, n)
WHERE model = 'distilbert-tiny-random-cls' AND i IN (5, 7)
GROUP BY i ORDER BY i;

--
-- bert-mini-sentiment: trained on IMDB + SST-2, model_max_length 128
--
SET bert.model_dir = :'models';
SELECT i, text, bert_sentiment(text, model) AS label, label AS golden_label,
       (SELECT array_agg(round(s.score::numeric, 4) ORDER BY n)
        FROM bert_sentiment_scores(text, model) WITH ORDINALITY AS s(l, score, n)) AS scores
FROM g_cls WHERE model = 'bert-mini-sentiment' AND i IN (0, 1, 2, 12)
ORDER BY i;
SELECT i, array_agg(round(x::numeric, 3) ORDER BY n) AS logits
FROM g_cls, unnest(bert_logits(text, model)) WITH ORDINALITY AS u(x, n)
WHERE model = 'bert-mini-sentiment' AND i IN (0, 12)
GROUP BY i ORDER BY i;
SELECT bert_sentiment('An absolute triumph: moving, funny and beautifully acted.', 'bert-mini-sentiment') AS positive,
       bert_sentiment('Dull, predictable and far too long; I walked out.', 'bert-mini-sentiment') AS negative;

--
-- every golden input of the three models: label, probabilities (1e-4),
-- logits (1e-3, as the golden files allow for the long inputs); the scores
-- are one row per label, in label-id order, summing to 1
--
CREATE FUNCTION pg_temp.check_model(m text)
RETURNS TABLE (inputs bigint, labels bigint, probs bigint, logits bigint,
               rows_per_input bigint, sums_to_1 bigint, label_order bigint)
LANGUAGE sql
AS $$
    SELECT count(*),
           count(*) FILTER (WHERE bert_sentiment(text, model) = label),
           count(*) FILTER (WHERE max_abs_diff((SELECT array_agg(score ORDER BY n)
                                                FROM bert_sentiment_scores(text, model)
                                                     WITH ORDINALITY AS s(l, score, n)),
                                               probs) < 1e-4),
           count(*) FILTER (WHERE max_abs_diff(bert_logits(text, model), logits) < 1e-3),
           max((SELECT count(*) FROM bert_sentiment_scores(text, model))),
           count(*) FILTER (WHERE abs((SELECT sum(score::float8) FROM bert_sentiment_scores(text, model)) - 1) < 1e-5),
           count(*) FILTER (WHERE (SELECT array_agg(l ORDER BY n)
                                   FROM bert_sentiment_scores(text, model)
                                        WITH ORDINALITY AS s(l, score, n))
                                  = (SELECT labels FROM bert_models() WHERE name = model))
    FROM g_cls WHERE model = m
$$;
SELECT * FROM pg_temp.check_model('bert-mini-sentiment');
SET bert.model_dir = :'testmodels';
SELECT * FROM pg_temp.check_model('bert-tiny-random-cls');
SELECT * FROM pg_temp.check_model('distilbert-tiny-random-cls');

--
-- bert_sentiment(text[]): the same labels, with their probability, computed
-- in packed batches, in array order
--
SELECT m.model, count(*) AS inputs,
       count(*) FILTER (WHERE b.ordinality = g.i + 1) AS in_order,
       count(*) FILTER (WHERE b.label = g.label) AS labels,
       count(*) FILTER (WHERE abs(b.score - (SELECT max(p) FROM unnest(g.probs) AS p)) < 1e-4) AS scores
FROM (SELECT DISTINCT model FROM g_cls WHERE model <> 'bert-mini-sentiment') AS m,
     bert_sentiment((SELECT array_agg(text ORDER BY i) FROM g_cls c WHERE c.model = m.model), m.model) AS b
JOIN g_cls g ON g.i = b.ordinality - 1
WHERE g.model = m.model
GROUP BY m.model ORDER BY m.model COLLATE "C";
SELECT ordinality, label, round(score::numeric, 4) AS score
FROM bert_sentiment(ARRAY['This film was a complete waste of time.', NULL, ''], 'bert-tiny-random-cls');
SELECT count(*) AS no_rows FROM bert_sentiment(ARRAY[]::text[], 'bert-tiny-random-cls');

--
-- the one-argument forms use bert.sentiment_model
--
SET bert.sentiment_model = 'distilbert-tiny-random-cls';
SELECT bert_sentiment('Hello, world') AS label,
       bert_logits('Hello, world') = bert_logits('Hello, world', 'distilbert-tiny-random-cls') AS same_logits;
SELECT label, round(score::numeric, 4) AS score FROM bert_sentiment_scores('Hello, world');
SELECT ordinality, label FROM bert_sentiment(ARRAY['Hello, world']);
SET bert.sentiment_model = 'bert-tiny-random-cls';
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE bert_sentiment(text) = label) AS labels,
       count(*) FILTER (WHERE max_abs_diff(bert_logits(text), logits) < 1e-3) AS logits
FROM g_cls WHERE model = 'bert-tiny-random-cls';
-- bert.embed_model is not used by the sentiment functions
SET bert.embed_model = 'bert-tiny-random';
SELECT bert_sentiment('Hello, world') AS label;
RESET bert.embed_model;
RESET bert.sentiment_model;

--
-- an expression index on bert_sentiment() (the functions are IMMUTABLE),
-- used by a query
--
SET bert.model_dir = :'models';
CREATE TABLE bert_reviews (id int PRIMARY KEY, body text);
INSERT INTO bert_reviews SELECT i, text FROM g_cls WHERE model = 'bert-mini-sentiment';
CREATE INDEX bert_reviews_sentiment ON bert_reviews (bert_sentiment(body, 'bert-mini-sentiment'));
ANALYZE bert_reviews;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (costs off)
SELECT id FROM bert_reviews WHERE bert_sentiment(body, 'bert-mini-sentiment') = 'NEGATIVE';
SELECT array_agg(id ORDER BY id) AS negative_ids,
       array_agg(id ORDER BY id) = (SELECT array_agg(i ORDER BY i) FROM g_cls
                                    WHERE model = 'bert-mini-sentiment' AND label = 'NEGATIVE') AS golden
FROM bert_reviews WHERE bert_sentiment(body, 'bert-mini-sentiment') = 'NEGATIVE';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT bert_sentiment(body, 'bert-mini-sentiment') AS label, count(*)
FROM bert_reviews GROUP BY 1 ORDER BY 1;
-- a new row is indexed with the model's label
INSERT INTO bert_reviews VALUES (100, 'This film was a complete waste of time.');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT id FROM bert_reviews
WHERE bert_sentiment(body, 'bert-mini-sentiment') = 'NEGATIVE' AND id >= 100;
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP TABLE bert_reviews;

--
-- the models this backend has loaded, most recently used first
--
SELECT name, architecture, num_hidden_layers, hidden_size, num_attention_heads,
       intermediate_size, vocab_size, max_length, dtype, pooling, l2_normalize,
       labels, file_bytes, private_bytes
FROM bert_models();
