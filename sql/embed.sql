--
-- embed: bert_embed(), bert_last_hidden_state(), bert_pooler_output() and
-- bert_cosine_similarity() against the golden files (tolerance 1e-4: float32
-- sums in another order differ by about 1e-5)
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
\getenv badmodels BERT_BADMODELS
LOAD 'bert';
SET bert.model_dir = :'testmodels';

CREATE TEMP TABLE g_tiny AS
SELECT i, g ->> 'text' AS text,
       json_floats(g -> 'mean_pooled_l2') AS emb,
       json_floats(g -> 'cls_token') AS cls,
       json_floats(g -> 'pooler_output') AS pooler,
       json_floats(g -> 'last_hidden_state') AS lhs,
       json_array_length(g -> 'input_ids') AS tokens
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl');

-- NULL in, NULL out
SELECT bert_embed(NULL, 'bert-tiny-random') IS NULL AS t1,
       bert_embed('x', NULL) IS NULL AS t2,
       bert_embed(NULL) IS NULL AS t3,
       bert_last_hidden_state(NULL, 'bert-tiny-random') IS NULL AS t4,
       bert_pooler_output(NULL, 'bert-tiny-random') IS NULL AS t5,
       bert_cosine_similarity(NULL, '{1}') IS NULL AS t6;

--
-- bert_embed: mean pooling over all tokens ([CLS] and [SEP] included),
-- L2-normalised (no modules.json)
--
SELECT i, array_ndims(e) AS ndims, array_length(e, 1) AS dims,
       round(l2_norm(e)::numeric, 5) AS norm,
       max_abs_diff(e, emb) < 1e-4 AS golden
FROM (SELECT i, emb, bert_embed(text, 'bert-tiny-random') AS e
      FROM g_tiny WHERE i IN (0, 3, 5, 7, 11, 27)) AS t
ORDER BY i;

-- the first values of 'Hello, world' (golden: -0.374768, 0.090198,
-- 0.164920, -0.054998, -0.016889, 0.141686)
SELECT array_agg(round(x::numeric, 4) ORDER BY n) AS first_values
FROM unnest((bert_embed('Hello, world', 'bert-tiny-random'))[1:6])
     WITH ORDINALITY AS u(x, n);

-- every golden input, and the F16 / BF16 copies of the same weights
-- against their own golden files
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(text, 'bert-tiny-random'), emb) < 1e-4) AS golden
FROM g_tiny;
SELECT model, count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(g ->> 'text', model),
                                           json_floats(g -> 'mean_pooled_l2')) < 1e-4) AS golden
FROM unnest(ARRAY['bert-tiny-random-f16', 'bert-tiny-random-bf16']) AS model,
     golden(:'testmodels' || '/golden/' || model || '.jsonl')
GROUP BY model ORDER BY model COLLATE "C";

-- the one-argument form uses bert.embed_model
SET bert.embed_model = 'bert-tiny-random';
SELECT bert_embed('Hello, world') = bert_embed('Hello, world', 'bert-tiny-random') AS same;
SELECT count(*) FILTER (WHERE max_abs_diff(bert_embed(text), emb) < 1e-4) AS golden
FROM g_tiny;
SET bert.embed_model = 'bert-tiny-random-f16';
SELECT max_abs_diff(bert_embed('Hello, world'), emb) < 1e-2 AS close_to_f32,
       bert_embed('Hello, world') = bert_embed('Hello, world', 'bert-tiny-random-f16') AS same
FROM g_tiny WHERE i = 5;
RESET bert.embed_model;

--
-- bert_last_hidden_state: (tokens, hidden_size), every token
--
SELECT i, tokens, array_dims(h) AS dims,
       max_abs_diff(h, lhs) < 1e-4 AS golden
FROM (SELECT i, tokens, lhs, bert_last_hidden_state(text, 'bert-tiny-random') AS h
      FROM g_tiny WHERE i IN (0, 3, 5, 25)) AS t
ORDER BY i;
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_last_hidden_state(text, 'bert-tiny-random'), lhs) < 1e-4) AS golden
FROM g_tiny WHERE lhs IS NOT NULL;
-- its first row is the [CLS] vector, and mean + L2 of all rows is bert_embed
SELECT max_abs_diff(h[1:1][1:32], cls) < 1e-4 AS cls_row,
       max_abs_diff(h[1:1][1:32], (SELECT json_floats(g -> 'last_hidden_state' -> 0)
                                   FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl')
                                   WHERE i = 5)) < 1e-4 AS first_row
FROM (SELECT cls, bert_last_hidden_state(text, 'bert-tiny-random') AS h
      FROM g_tiny WHERE i = 5) AS t;
SELECT max_abs_diff(e, (SELECT array_agg(m / n ORDER BY c)
                        FROM (SELECT c, m, sqrt(sum(m * m) OVER ()) AS n
                              FROM (SELECT (k - 1) % 32 AS c, avg(x::float8) AS m
                                    FROM unnest(h) WITH ORDINALITY AS u(x, k)
                                    GROUP BY 1) AS cols) AS normed)) < 1e-5 AS mean_l2
FROM (SELECT bert_embed(text, 'bert-tiny-random') AS e,
             bert_last_hidden_state(text, 'bert-tiny-random') AS h
      FROM g_tiny WHERE i = 7) AS t;
SELECT array_dims(bert_last_hidden_state(text, 'bert-tiny-random')) AS long_input
FROM g_tiny WHERE i = 27;
SET bert.embed_model = 'bert-tiny-random';
SELECT array_dims(bert_last_hidden_state('')) AS empty_input,
       bert_last_hidden_state('Hello, world') = bert_last_hidden_state('Hello, world', 'bert-tiny-random') AS same;
RESET bert.embed_model;

--
-- bert_pooler_output: tanh(dense(h_[CLS]))
--
SELECT array_length(bert_pooler_output('Hello, world', 'bert-tiny-random'), 1) AS dims;
-- golden: 0.271965, 0.200696, 0.950006, -0.587362, -0.986118, 0.876702
SELECT array_agg(round(x::numeric, 4) ORDER BY n) AS first_values
FROM unnest((bert_pooler_output('Hello, world', 'bert-tiny-random'))[1:6])
     WITH ORDINALITY AS u(x, n);
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_pooler_output(text, 'bert-tiny-random'), pooler) < 1e-4) AS golden
FROM g_tiny;
SET bert.embed_model = 'bert-tiny-random';
SELECT bert_pooler_output('Hello, world') = bert_pooler_output('Hello, world', 'bert-tiny-random') AS same;
RESET bert.embed_model;
-- a sequence classifier has a pooler too
SELECT array_length(bert_pooler_output('Hello, world', 'bert-tiny-random-cls'), 1) AS dims;

--
-- sentence-transformers layout (modules.json, 1_Pooling, 2_Normalize), F16
--
SET bert.model_dir = :'models';
CREATE TEMP TABLE g_embed AS
SELECT i, g ->> 'text' AS text, json_floats(g -> 'mean_pooled_l2') AS emb
FROM golden(:'models' || '/golden/bert-mini-embed.jsonl');
SELECT array_length(bert_embed('Hello, world', 'bert-mini-embed'), 1) AS dims,
       round(l2_norm(bert_embed('Hello, world', 'bert-mini-embed'))::numeric, 5) AS norm;
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(text, 'bert-mini-embed'), emb) < 1e-4) AS golden
FROM g_embed;
-- cosine similarity of two embeddings equals that of the golden vectors
SELECT abs(bert_cosine_similarity(bert_embed(a.text, 'bert-mini-embed'),
                                  bert_embed(b.text, 'bert-mini-embed'))
           - (SELECT sum(x * y) FROM unnest(a.emb, b.emb) AS u(x, y))) < 1e-4 AS golden
FROM g_embed a, g_embed b WHERE a.i = 0 AND b.i = 1;
-- a trained model: paraphrases are closer than unrelated sentences
SELECT bert_cosine_similarity(bert_embed('A man is playing a guitar.', 'bert-mini-embed'),
                              bert_embed('A man plays the guitar.', 'bert-mini-embed'))
     > bert_cosine_similarity(bert_embed('A man is playing a guitar.', 'bert-mini-embed'),
                              bert_embed('The stock market fell sharply today.', 'bert-mini-embed'))
       AS paraphrase_closer;

--
-- pooling configuration: CLS pooling without Normalize gives the raw [CLS]
-- vector (fixture pooling-cls-unnormalized)
--
SET bert.model_dir = :'badmodels';
SELECT max_abs_diff(e, cls) < 1e-4 AS golden_cls, l2_norm(e) > 1.5 AS not_normalized
FROM (SELECT cls, bert_embed(text, 'pooling-cls-unnormalized') AS e
      FROM g_tiny WHERE i = 5) AS t;
SELECT count(*) FILTER (WHERE max_abs_diff(bert_embed(text, 'pooling-cls-unnormalized'), cls) < 1e-4) AS golden
FROM g_tiny;

-- TF-era LayerNorm.gamma/beta names under a "bert." prefix (fixture
-- legacy-names) and a tokenizer.json-only copy load as the same model
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(text, 'legacy-names'), emb) < 1e-4) AS legacy_golden,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(text, 'tokenizer-json-only'), emb) < 1e-4) AS tokjson_golden
FROM g_tiny;
SELECT max_abs_diff(bert_pooler_output(text, 'legacy-names'), pooler) < 1e-4 AS legacy_pooler
FROM g_tiny WHERE i = 5;

--
-- bert_embed(text[]): the same embeddings, computed in packed batches, in
-- array order; a NULL element gives a NULL embedding
--
SET bert.model_dir = :'testmodels';
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE b.ordinality = g.i + 1) AS in_order,
       count(*) FILTER (WHERE max_abs_diff(b.embedding, g.emb) < 1e-4) AS golden,
       count(*) FILTER (WHERE max_abs_diff(b.embedding, bert_embed(g.text, 'bert-tiny-random')) < 1e-5) AS same_as_single
FROM bert_embed((SELECT array_agg(text ORDER BY i) FROM g_tiny), 'bert-tiny-random') AS b
JOIN g_tiny g ON g.i = b.ordinality - 1;
SELECT ordinality, array_length(embedding, 1) AS dims
FROM bert_embed(ARRAY['Hello, world', NULL, ''], 'bert-tiny-random');
SELECT count(*) AS no_rows FROM bert_embed(ARRAY[]::text[], 'bert-tiny-random');
-- 3,000 elements of every length up to 300 tokens, NULL every 5th: many
-- passes (at most 1,024 elements or 1,024 tokens each, a longer element
-- alone); every row equals its scalar call, in array order
SELECT count(*) AS rows, count(embedding) AS embeddings,
       bool_and((embedding IS NULL) = (ordinality % 5 = 0)) AS nulls_in_place,
       max((SELECT max(abs(x - y)) FROM unnest(embedding,
             bert_embed(repeat('word ', (ordinality * 37) % 300) || ordinality, 'bert-tiny-random')) u(x, y))) < 1e-6 AS equal_scalar
FROM bert_embed((SELECT array_agg(CASE WHEN g % 5 = 0 THEN NULL
                                       ELSE repeat('word ', (g * 37) % 300) || g END ORDER BY g)
                 FROM generate_series(1, 3000) g), 'bert-tiny-random');
SET bert.embed_model = 'bert-tiny-random';
SELECT ordinality, max_abs_diff(embedding, g.emb) < 1e-4 AS golden
FROM bert_embed(ARRAY['Hello, world']) AS b, g_tiny g WHERE g.i = 5;
RESET bert.embed_model;

--
-- bert_cosine_similarity
--
SELECT bert_cosine_similarity('{1,2,3}', '{1,2,3}') AS same,
       bert_cosine_similarity('{1,0}', '{0,1}') AS orthogonal,
       bert_cosine_similarity('{1,2}', '{-1,-2}') AS opposite,
       bert_cosine_similarity('{1,2}', '{2,4}') AS scaled,
       round(bert_cosine_similarity('{1,1}', '{1,0}')::numeric, 6) AS diagonal,
       bert_cosine_similarity('{0,0}', '{1,2}') AS zero_vector;
-- computed in double precision: no overflow for large components
SELECT bert_cosine_similarity('{1e30,1e30}', '{1e30,1e30}') AS large,
       bert_cosine_similarity('{1e-30,0}', '{1e-30,0}') AS small;
-- embeddings are unit vectors: cosine = dot product
SELECT abs(bert_cosine_similarity(a, b) - (SELECT sum(x::float8 * y) FROM unnest(a, b) AS u(x, y))) < 1e-6 AS dot
FROM (SELECT bert_embed('I love this movie!', 'bert-tiny-random') AS a,
             bert_embed('This film was a complete waste of time.', 'bert-tiny-random') AS b) AS t;
SELECT bert_cosine_similarity(bert_embed('Hello, world', 'bert-tiny-random'),
                              bert_embed('Hello, world', 'bert-tiny-random')) AS self;

--
-- a stored generated column
--
CREATE TABLE bert_docs (
    id int PRIMARY KEY,
    body text,
    embedding real[] GENERATED ALWAYS AS (bert_embed(body, 'bert-tiny-random')) STORED
);
INSERT INTO bert_docs (id, body) SELECT i, text FROM g_tiny WHERE i < 8;
INSERT INTO bert_docs (id, body) VALUES (100, NULL);
SELECT d.id, array_length(d.embedding, 1) AS dims,
       max_abs_diff(d.embedding, g.emb) < 1e-4 AS golden
FROM bert_docs d LEFT JOIN g_tiny g ON g.i = d.id ORDER BY d.id;
UPDATE bert_docs SET body = (SELECT text FROM g_tiny WHERE i = 11) WHERE id = 0;
SELECT max_abs_diff(d.embedding, g.emb) < 1e-4 AS recomputed
FROM bert_docs d, g_tiny g WHERE d.id = 0 AND g.i = 11;
-- nearest neighbour of a query
SELECT id FROM bert_docs WHERE embedding IS NOT NULL
ORDER BY bert_cosine_similarity(embedding, bert_embed('Hello, world', 'bert-tiny-random')) DESC
LIMIT 1;

--
-- parallel query: workers load their own copy of the model and give the
-- same results as the leader
--
CREATE TABLE bert_par AS SELECT i AS id, text AS body FROM g_tiny;
ALTER TABLE bert_par SET (parallel_workers = 2);
CREATE TABLE bert_par_serial AS
SELECT id, bert_embed(body, 'bert-tiny-random') AS e,
       bert_token_ids(body, 'bert-tiny-random') AS ids,
       bert_sentiment(body, 'bert-tiny-random-cls') AS label
FROM bert_par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE max_abs_diff(p.e, s.e) < 1e-6) AS same_embedding,
       count(*) FILTER (WHERE p.ids = s.ids) AS same_ids,
       count(*) FILTER (WHERE p.label = s.label) AS same_label
FROM (SELECT id, bert_embed(body, 'bert-tiny-random') AS e,
             bert_token_ids(body, 'bert-tiny-random') AS ids,
             bert_sentiment(body, 'bert-tiny-random-cls') AS label
      FROM bert_par) AS p
JOIN bert_par_serial s USING (id);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
DROP TABLE bert_par, bert_par_serial;

--
-- the models this backend has loaded, most recently used first
--
SELECT name, architecture, num_hidden_layers, hidden_size, num_attention_heads,
       intermediate_size, vocab_size, max_length, dtype, pooling, l2_normalize,
       labels, file_bytes, private_bytes,
       path LIKE '%/' || name AS path_ok, load_ms >= 0 AS load_ms_ok
FROM bert_models();
