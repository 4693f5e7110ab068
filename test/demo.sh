#!/usr/bin/env bash
# The main job: install, build, start a throwaway cluster, load the demo
# models from ../shared/models, classify every real review with
# bert_sentiment, print a sample, the accuracy against the labels and the
# throughput; then add a generated bert_embed column and search it; then
# fine-tune a topic classifier on a slice of AG News with bert_finetune and
# classify held-out articles with it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DATA=$(cd "$ROOT/../shared/data" && pwd)
bash test/install_deps.sh
make -s
make -s install >/dev/null
source test/cluster.sh
cluster_start
# a writable copy of the demo models: bert_finetune writes its model beside them
MODELS=$CLUSTER_DIR/models
mkdir -p "$MODELS"
cp -r "$BERT_SHARED/models/bert-mini-mlm" "$BERT_SHARED/models/bert-mini-sentiment" \
	"$BERT_SHARED/models/bert-mini-embed" "$MODELS/"
chmod -R u+w,a+rX "$MODELS"
[ "$(id -u)" = 0 ] && chown -R postgres "$MODELS"

psql -X -q -v ON_ERROR_STOP=1 <<SQL
\pset footer off
CREATE EXTENSION bert;
ALTER SYSTEM SET bert.model_dir = '$MODELS';
ALTER SYSTEM SET bert.sentiment_model = 'bert-mini-sentiment';
ALTER SYSTEM SET bert.embed_model = 'bert-mini-embed';
ALTER SYSTEM SET bert.fill_mask_model = 'bert-mini-mlm';
SELECT pg_reload_conf();
SQL

psql -X -q -v ON_ERROR_STOP=1 <<SQL
\pset footer off
CREATE TABLE reviews (id serial PRIMARY KEY, source text, label int, review text);
CREATE TEMP TABLE staging (label int, review text);
\copy staging FROM '$DATA/reviews/sst2_dev.tsv' (FORMAT csv, DELIMITER E'\t', QUOTE E'\b')
INSERT INTO reviews (source, label, review) SELECT 'sst2_dev', label, review FROM staging;
TRUNCATE staging;
\copy staging FROM '$DATA/reviews/imdb_test_5000.tsv' (FORMAT csv, DELIMITER E'\t', QUOTE E'\b')
INSERT INTO reviews (source, label, review) SELECT 'imdb_test', label, review FROM staging;
ANALYZE reviews;

\echo
\echo '== SELECT review, bert_sentiment(review) FROM reviews  (one backend, one BLAS thread)'
SET max_parallel_workers_per_gather = 0;
SELECT bert_sentiment('warm-up: load the model');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS started;
CREATE TABLE predictions AS SELECT id, bert_sentiment(review) AS predicted FROM reviews;
SELECT count(*) AS rows,
       round(extract(epoch FROM clock_timestamp() - (SELECT started FROM t0))::numeric, 1) AS seconds,
       round(count(*) / extract(epoch FROM clock_timestamp() - (SELECT started FROM t0))::numeric, 1) AS rows_per_second
FROM predictions;

\echo '== a sample'
SELECT left(r.review, 70) AS review, p.predicted,
       CASE r.label WHEN 1 THEN 'POSITIVE' ELSE 'NEGATIVE' END AS gold
FROM reviews r JOIN predictions p USING (id)
WHERE r.id % 600 = 1 ORDER BY r.id;

\echo '== accuracy against the labels (../shared/models/EVAL.md: sst2_dev 79.59%, imdb_test 79.50%)'
SELECT r.source, count(*) AS rows,
       round(100.0 * avg((p.predicted = CASE r.label WHEN 1 THEN 'POSITIVE' ELSE 'NEGATIVE' END)::int), 2) AS accuracy_pct,
       CASE r.source WHEN 'sst2_dev' THEN 79.59 ELSE 79.50 END AS eval_md_pct
FROM reviews r JOIN predictions p USING (id)
GROUP BY r.source ORDER BY r.source;

\echo '== the same over a parallel plan (2 workers + leader)'
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
TRUNCATE t0;
INSERT INTO t0 VALUES (clock_timestamp());
SELECT count(*) FILTER (WHERE bert_sentiment(review) = p.predicted) AS same_as_serial, count(*) AS rows,
       round(count(*) / extract(epoch FROM clock_timestamp() - (SELECT started FROM t0))::numeric, 1) AS rows_per_second
FROM reviews r JOIN predictions p USING (id);
RESET max_parallel_workers_per_gather;

\echo
\echo '== ALTER TABLE reviews ADD COLUMN emb real[] GENERATED ALWAYS AS (bert_embed(review, ''bert-mini-embed'')) STORED'
TRUNCATE t0;
INSERT INTO t0 VALUES (clock_timestamp());
ALTER TABLE reviews ADD COLUMN emb real[] GENERATED ALWAYS AS (bert_embed(review, 'bert-mini-embed')) STORED;
SELECT count(*) AS rows, array_length(min(emb), 1) AS dimensions,
       round(count(*) / extract(epoch FROM clock_timestamp() - (SELECT started FROM t0))::numeric, 1) AS rows_per_second
FROM reviews;

\echo '== the five reviews most similar to: "a moving film with wonderful acting"'
SELECT round(bert_cosine_similarity(emb, q.v)::numeric, 3) AS similarity, left(review, 90) AS review
FROM reviews, (SELECT bert_embed('a moving film with wonderful acting') AS v) q
ORDER BY bert_cosine_similarity(emb, q.v) DESC LIMIT 5;

\echo
\echo '== fill-mask and next-sentence prediction with bert-mini-mlm (pre-trained here for an hour: frequent words dominate)'
SELECT position, token, round(score::numeric, 4) AS score, sequence
FROM bert_fill_mask('The movie was [MASK] and I loved every minute of it.', 3);
SELECT round(bert_next_sentence('The film opens in a small town.', 'Its mayor has a secret.')::numeric, 3) AS follows,
       round(bert_next_sentence('The film opens in a small town.', 'Stocks fell sharply on Monday.')::numeric, 3) AS random_pair;
SQL

psql -X -q -v ON_ERROR_STOP=1 <<SQL
\pset footer off
CREATE TABLE news (id serial PRIMARY KEY, topic text, body text);
\copy news (topic, body) FROM '$DATA/topics/agnews_train_10k.tsv' (FORMAT csv, DELIMITER E'\t', QUOTE E'\b')
CREATE TABLE news_test (id serial PRIMARY KEY, topic text, body text);
\copy news_test (topic, body) FROM '$DATA/topics/agnews_test.tsv' (FORMAT csv, DELIMITER E'\t', QUOTE E'\b')

\echo
\echo '== fine-tune a topic classifier in the database: bert_finetune on ${DEMO_NEWS_ROWS:-3000} AG News articles'
\echo '   (from bert-mini-mlm; 4 topics; 10% held out; NOTICEs every 5 s show the progress)'
SELECT epoch, steps, round(train_loss::numeric, 4) AS train_loss,
       round(validation_loss::numeric, 4) AS validation_loss,
       round(100 * validation_accuracy::numeric, 1) AS validation_accuracy_pct,
       round(seconds::numeric, 1) AS seconds
FROM bert_finetune('agnews-topics', 'bert-mini-mlm',
                   'SELECT body, topic FROM news WHERE id <= ${DEMO_NEWS_ROWS:-3000} ORDER BY id',
                   epochs => ${DEMO_NEWS_EPOCHS:-2}, batch_size => 32, learning_rate => 3e-4,
                   warmup_ratio => 0.1, weight_decay => 0.01, max_length => 64);

\echo '== accuracy on the first 1,000 AG News test articles (not trained on)'
CREATE TEMP TABLE news_pred AS
SELECT t.id, t.topic, s.label AS predicted
FROM (SELECT array_agg(id ORDER BY id) AS ids, array_agg(body ORDER BY id) AS texts
      FROM news_test WHERE id <= 1000 GROUP BY id / 500) g,
     bert_sentiment(g.texts, 'agnews-topics') s, news_test t
WHERE t.id = g.ids[s.ordinality];
SELECT count(*) AS articles, round(100.0 * avg((predicted = topic)::int), 1) AS accuracy_pct,
       25.0 AS chance_pct
FROM news_pred;
SELECT topic, count(*) FILTER (WHERE predicted = topic) AS right, count(*) AS articles
FROM news_pred GROUP BY topic ORDER BY topic;

\echo '== a few predictions'
SELECT left(body, 80) AS article, bert_sentiment(body, 'agnews-topics') AS predicted, topic AS gold
FROM news_test WHERE id BETWEEN 1001 AND 1008 ORDER BY id;
SQL

