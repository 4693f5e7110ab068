--
-- pipelines: bert_fill_mask(), bert_next_sentence(), bert_ner(),
-- bert_answer() and bert_token_logits() against the golden files of the
-- tiny pre-training, token-classification and question-answering models
--
\getenv testmodels BERT_TESTMODELS
LOAD 'bert';
SET bert.model_dir = :'testmodels';

CREATE TEMP TABLE g_pre AS
SELECT i, g ->> 'text' AS text, g ->> 'text_pair' AS text_pair, g
FROM golden(:'testmodels' || '/golden/bert-tiny-random-pretrain.jsonl');
CREATE TEMP TABLE g_ner AS
SELECT i, g ->> 'text' AS text,
       ARRAY(SELECT json_array_elements_text(g -> 'token_labels')) AS labels,
       json_floats(g -> 'token_scores') AS scores
FROM golden(:'testmodels' || '/golden/bert-tiny-random-ner.jsonl');
CREATE TEMP TABLE g_qa AS
SELECT i, g ->> 'question' AS question, g ->> 'context' AS context,
       json_floats(g -> 'start_logits') AS start_logits,
       json_floats(g -> 'end_logits') AS end_logits,
       json_ints(g -> 'best_span_token_positions') AS span
FROM golden(:'testmodels' || '/golden/bert-tiny-random-qa.jsonl');

-- NULL in, no result (STRICT)
SELECT count(*) AS no_rows FROM bert_fill_mask(NULL, 'bert-tiny-random-pretrain');
SELECT count(*) AS no_rows FROM bert_fill_mask('[MASK]', 'bert-tiny-random-pretrain', NULL);
SELECT bert_next_sentence(NULL, 'x', 'bert-tiny-random-pretrain') IS NULL AS t1,
       bert_next_sentence('x', NULL) IS NULL AS t2;
SELECT count(*) AS no_rows FROM bert_ner(NULL, 'bert-tiny-random-ner');
SELECT count(*) AS no_rows FROM bert_answer('q', NULL, 'bert-tiny-random-qa');
SELECT count(*) AS no_rows FROM bert_token_logits(NULL, 'bert-tiny-random-ner');

--
-- bert_fill_mask: top_k tokens at each [MASK] by the softmax of the
-- masked-LM head (decoder tied to the word embeddings)
--
SELECT position, token, token_id, round(score::numeric, 5) AS score, sequence
FROM bert_fill_mask('The capital of France is [MASK].', 'bert-tiny-random-pretrain');
-- several masks: rows for each mask; the sequence keeps the special tokens
SELECT position, token, token_id, sequence
FROM bert_fill_mask('The [MASK] sat on the [MASK].', 'bert-tiny-random-pretrain', 2);
-- a word piece alone
SELECT token, sequence FROM bert_fill_mask('[MASK]', 'bert-tiny-random-pretrain', 3);
-- every golden input with a mask: positions, top-5 ids, scores (1e-5)
CREATE TEMP TABLE fm AS
SELECT p.i, f.position,
       array_agg(f.token_id ORDER BY f.n) AS ids,
       array_agg(f.score ORDER BY f.n) AS scores
FROM g_pre p,
     bert_fill_mask(p.text, 'bert-tiny-random-pretrain')
         WITH ORDINALITY AS f(position, token, token_id, score, sequence, n)
WHERE p.text LIKE '%[MASK]%' AND p.text_pair IS NULL
GROUP BY p.i, f.position;
SELECT p.i, (m ->> 'position')::int AS position,
       fm.ids = json_ints(m -> 'token_ids') AS golden_ids,
       max_abs_diff(fm.scores, json_floats(m -> 'scores')) < 1e-5 AS golden_scores
FROM g_pre p
CROSS JOIN LATERAL json_array_elements(p.g -> 'mask_predictions') AS m
LEFT JOIN fm ON fm.i = p.i AND fm.position = (m ->> 'position')::int
ORDER BY 1, 2;
SELECT count(*) AS golden_mask_rows, (SELECT count(*) FROM fm) AS result_masks
FROM g_pre p CROSS JOIN LATERAL json_array_elements(p.g -> 'mask_predictions') AS m;
-- top_k: more rows, the same order; at most the vocabulary
SELECT count(*) AS top_10,
       (array_agg(token_id ORDER BY n))[1:5] = (SELECT ids FROM fm WHERE i = 0) AS same_top_5
FROM bert_fill_mask('The capital of France is [MASK].', 'bert-tiny-random-pretrain', 10)
     WITH ORDINALITY AS f(position, token, token_id, score, sequence, n);
SELECT count(*) AS whole_vocabulary, round(sum(score)::numeric, 4) AS total
FROM bert_fill_mask('[MASK]', 'bert-tiny-random-pretrain', 1000000);
-- the whole result is bounded: masks x top_k rows, each with a sequence of
-- the input's length, at most 16,777,216 tokens in all (2 x 30,522 x 274 =
-- 16,726,056 is allowed, 2 x 30,522 x 275 is not)
SELECT count(*) AS rows, count(DISTINCT position) AS masks,
       count(DISTINCT token_id) AS tokens
FROM bert_fill_mask(repeat('x ', 270) || '[MASK] [MASK]', 'bert-tiny-random-pretrain', 100000);
SELECT count(*) FROM bert_fill_mask(repeat('x ', 271) || '[MASK] [MASK]', 'bert-tiny-random-pretrain', 100000);
SELECT count(*) FROM bert_fill_mask(repeat('[MASK] ', 200), 'bert-tiny-random-pretrain', 1000000);
-- the one-argument forms use bert.fill_mask_model
SET bert.fill_mask_model = 'bert-tiny-random-pretrain';
SELECT count(*) AS default_top_k,
       array_agg(token_id ORDER BY n) = (SELECT ids FROM fm WHERE i = 0) AS same
FROM bert_fill_mask('The capital of France is [MASK].')
     WITH ORDINALITY AS f(position, token, token_id, score, sequence, n);
SELECT token FROM bert_fill_mask('The capital of France is [MASK].', 1);

--
-- bert_next_sentence: probability that the second text follows the first
--
SELECT round(bert_next_sentence('Who wrote the report?',
                                'The report was written by the committee in 2019.',
                                'bert-tiny-random-pretrain')::numeric, 4) AS is_next;
SELECT i, length(text) AS len_a, length(text_pair) AS len_b,
       abs(bert_next_sentence(text, text_pair, 'bert-tiny-random-pretrain')
           - (g ->> 'is_next_prob')::float8) < 1e-4 AS golden
FROM g_pre WHERE text_pair IS NOT NULL ORDER BY i;
-- bert.fill_mask_model
SELECT abs(bert_next_sentence(text, text_pair) - (g ->> 'is_next_prob')::float8) < 1e-4 AS golden
FROM g_pre WHERE i = 7;
RESET bert.fill_mask_model;

--
-- bert_token_logits: per-token logits of a token classifier, or start/end
-- logits of a question-answering model, with character offsets
--
SELECT position, token, token_type_id, start_char, end_char,
       array_length(logits, 1) AS labels
FROM bert_token_logits('Café au lait, naïve!', 'bert-tiny-random-ner');
-- argmax label and its probability for every token of the golden inputs
CREATE FUNCTION pg_temp.softmax_max(l real[]) RETURNS float8
LANGUAGE sql IMMUTABLE
AS $$ SELECT max(exp(x - m)) / sum(exp(x - m))
      FROM unnest(l) AS x, (SELECT max(y) AS m FROM unnest(l) AS y) AS s $$;
CREATE FUNCTION pg_temp.argmax(l real[]) RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT n::int - 1 FROM unnest(l) WITH ORDINALITY AS u(x, n)
      ORDER BY x DESC, n LIMIT 1 $$;
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE t.labels = g.labels) AS golden_labels,
       count(*) FILTER (WHERE max_abs_diff(t.scores, g.scores) < 1e-4) AS golden_scores
FROM g_ner g,
     LATERAL (SELECT array_agg((SELECT labels FROM bert_models() WHERE name = 'bert-tiny-random-ner')
                               [pg_temp.argmax(logits) + 1] ORDER BY position) AS labels,
                     array_agg(pg_temp.softmax_max(logits) ORDER BY position)::real[] AS scores
              FROM bert_token_logits(g.text, 'bert-tiny-random-ner')) AS t;
-- question answering: [CLS] question [SEP] context [SEP], token types 0/1,
-- offsets into each text; start and end logits as golden (1e-4), also for
-- the long pair that is truncated longest-first to 512 tokens
SELECT position, token, token_type_id, start_char, end_char
FROM bert_token_logits('Who wrote it?', 'Ann wrote it.', 'bert-tiny-random-qa');
SELECT q.i, t.n AS tokens,
       max_abs_diff(t.start_logits, q.start_logits) < 1e-4 AS golden_start,
       max_abs_diff(t.end_logits, q.end_logits) < 1e-4 AS golden_end
FROM g_qa q,
     LATERAL (SELECT count(*) AS n,
                     array_agg(logits[1] ORDER BY position) AS start_logits,
                     array_agg(logits[2] ORDER BY position) AS end_logits
              FROM bert_token_logits(q.question, q.context, 'bert-tiny-random-qa')) AS t
ORDER BY q.i;

--
-- bert_ner: entities grouped as aggregation_strategy="simple" (this random
-- model tags almost every token I-MISC, so a text is one MISC entity)
--
SELECT entity, label, round(score::numeric, 4) AS score, start_char, end_char
FROM bert_ner('Hello, world', 'bert-tiny-random-ner');
SELECT entity, label, start_char, end_char,
       substr('Café au lait, naïve résumé', start_char + 1, end_char - start_char) AS as_written
FROM bert_ner('Café au lait, naïve résumé', 'bert-tiny-random-ner');
-- the score is the mean of the tokens' probabilities (golden)
SELECT abs(n.score - (SELECT avg(s) FROM unnest(g.scores[2:cardinality(g.scores) - 1]) AS s)) < 1e-4 AS golden
FROM g_ner g, bert_ner(g.text, 'bert-tiny-random-ner') AS n
WHERE g.i = 5;
-- nothing to tag
SELECT count(*) AS entities FROM bert_ner('', 'bert-tiny-random-ner');
-- bert.ner_model
SET bert.ner_model = 'bert-tiny-random-ner';
SELECT entity, label FROM bert_ner('Hello, world');
RESET bert.ner_model;

--
-- bert_answer: the span maximising p_start * p_end (at most max_answer_len
-- tokens) inside the context, as the question-answering pipeline
--
SELECT answer, round(score::numeric, 4) AS score, start_char, end_char
FROM bert_answer('Who wrote the report?', 'The report was written by the committee in 2019.',
                 'bert-tiny-random-qa');
-- the golden best span (token positions) for the inputs that fit in one
-- window of 384 tokens
SELECT q.i, a.answer,
       a.answer = substr(q.context, s.start_char + 1, e.end_char - s.start_char) AS golden_span
FROM g_qa q,
     bert_answer(q.question, q.context, 'bert-tiny-random-qa') AS a,
     bert_token_logits(q.question, q.context, 'bert-tiny-random-qa') AS s,
     bert_token_logits(q.question, q.context, 'bert-tiny-random-qa') AS e
WHERE q.i < 5 AND s.position = q.span[1] AND e.position = q.span[2]
ORDER BY q.i;
-- max_answer_len limits the span
SELECT answer, start_char, end_char
FROM bert_answer('Who wrote the report?', 'The report was written by the committee in 2019.',
                 'bert-tiny-random-qa', 1);
SELECT answer FROM bert_answer('Who wrote the report?', 'The report was written by the committee in 2019.',
                               'bert-tiny-random-qa', max_answer_len => 1);
-- a context longer than one window is read in overlapping windows
SELECT count(*) AS rows, bool_and(length(answer) > 0) AS answered,
       bool_and(substr(repeat('The report was written by the committee in 2019. ', 60),
                       start_char + 1, end_char - start_char) = answer) AS offsets_ok
FROM bert_answer('Who wrote the report?', repeat('The report was written by the committee in 2019. ', 60),
                 'bert-tiny-random-qa');
-- bert.qa_model
SET bert.qa_model = 'bert-tiny-random-qa';
SELECT answer FROM bert_answer('Who wrote the report?', 'The report was written by the committee in 2019.');
RESET bert.qa_model;

--
-- errors
--
-- no [MASK] in the text, bad top_k
SELECT * FROM bert_fill_mask('There is no mask here.', 'bert-tiny-random-pretrain');
SELECT * FROM bert_fill_mask('[mask] is not [MASK ]', 'bert-tiny-random-pretrain');
SELECT * FROM bert_fill_mask('The capital of France is [MASK].', 'bert-tiny-random-pretrain', 0);
-- a [MASK] cut off by bert.max_length
SET bert.max_length = 4;
SELECT * FROM bert_fill_mask('one two three [MASK]', 'bert-tiny-random-pretrain');
RESET bert.max_length;
-- empty context, bad max_answer_len, a question that leaves no room
SELECT * FROM bert_answer('Who?', '', 'bert-tiny-random-qa');
SELECT * FROM bert_answer('Who?', '   ', 'bert-tiny-random-qa');
SELECT * FROM bert_answer('Who?', 'Ann.', 'bert-tiny-random-qa', 0);
-- (VERBOSITY terse: the DETAIL gives the question's length capped at 384)
\set VERBOSITY terse
SELECT * FROM bert_answer(repeat('why ', 400), 'Ann.', 'bert-tiny-random-qa');
\set VERBOSITY default
SELECT * FROM bert_answer(repeat('why ', 381), 'Ann.', 'bert-tiny-random-qa');
-- one token left for the context: enough for a context of one token ...
SELECT answer, start_char, end_char FROM bert_answer(repeat('why ', 380), 'Ann', 'bert-tiny-random-qa');
-- ... but a longer one would need windows that share 128 tokens
-- (doc_stride) and advance by none: refused, as transformers' tokenizer
-- refuses a stride that is not less than the room left for the context
SELECT * FROM bert_answer(repeat('why ', 380), 'Ann.', 'bert-tiny-random-qa');
SELECT * FROM bert_answer(repeat('why ', 253), repeat('Ann wrote it. ', 100), 'bert-tiny-random-qa');
-- 129 tokens per window advance by one: the passes a context needs are
-- bounded (400,000 tokens of windows: 1,041 windows of 384 tokens)
SELECT * FROM bert_answer(repeat('why ', 252), repeat('Ann ', 1170), 'bert-tiny-random-qa');
SELECT * FROM bert_answer(repeat('why ', 252), repeat('Ann wrote it. ', 25000), 'bert-tiny-random-qa');
-- the wrong kind of model
SELECT * FROM bert_fill_mask('a [MASK]', 'bert-tiny-random');
SELECT * FROM bert_fill_mask('a [MASK]', 'bert-tiny-random-cls');
SELECT bert_next_sentence('a', 'b', 'bert-tiny-random');
SELECT bert_next_sentence('a', 'b', 'bert-tiny-random-ner');
SELECT * FROM bert_ner('a', 'bert-tiny-random');
SELECT * FROM bert_ner('a', 'bert-tiny-random-qa');
SELECT * FROM bert_answer('a', 'b', 'bert-tiny-random');
SELECT * FROM bert_answer('a', 'b', 'bert-tiny-random-ner');
SELECT * FROM bert_token_logits('a', 'bert-tiny-random');
SELECT * FROM bert_token_logits('a', 'b', 'bert-tiny-random-cls');
-- no model given and the setting is empty
SELECT * FROM bert_fill_mask('a [MASK]');
SELECT bert_next_sentence('a', 'b');
SELECT * FROM bert_ner('a');
SELECT * FROM bert_answer('a', 'b');
-- bert_token_logits has no setting (SQLSTATE only: its hint names a
-- setting "the model argument")
SELECT sqlstate_of($$SELECT * FROM bert_token_logits('a', '')$$) AS token_logits;

--
-- the models this backend has loaded
--
SELECT name, architecture, labels, max_length
FROM bert_models() ORDER BY name COLLATE "C";
