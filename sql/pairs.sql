--
-- pairs: bert_classify(), bert_classify_scores(), bert_logits() on pairs,
-- bert_rerank(), bert_rerank_score(), bert_zero_shot() and bert_chunk():
-- results against the golden file of the tiny NLI and cross-encoder
-- models, batches against single calls, and every error.  Every golden row
-- and the chunking properties on real reviews are in test/parity/pairs.py.
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
\getenv badmodels BERT_BADMODELS
LOAD 'bert';
SET bert.model_dir = :'testmodels';

-- the functions: IMMUTABLE STRICT PARALLEL SAFE, commented, with these
-- arguments and output columns
SELECT f AS function, p.provolatile AS vol, p.proparallel AS par,
       p.proisstrict AS strict, p.proretset AS setof,
       obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented,
       pg_get_function_arguments(p.oid) AS arguments
FROM unnest(ARRAY[
        'bert_classify(text,text,text)', 'bert_classify_scores(text,text,text)',
        'bert_logits(text,text,text)', 'bert_rerank_score(text,text,text)',
        'bert_rerank(text,text[],text)', 'bert_zero_shot(text,text[],text,text,boolean)',
        'bert_chunk(text,integer,text,integer)']) WITH ORDINALITY AS u(f, n)
LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f)
ORDER BY n;

CREATE TEMP TABLE g_pairs AS
SELECT i, g ->> 'kind' AS kind, g ->> 'model' AS model, g
FROM golden(:'testmodels' || '/golden/bert-tiny-random-pairs.jsonl');

--
-- pair classification
--

-- raw logits of the pair rows of the three models (within 1e-4)
SELECT model, count(*) AS pairs,
       bool_and(max_abs_diff(bert_logits(g ->> 'text', g ->> 'text_pair', model),
                             json_floats(g -> 'logits')) < 1e-4) AS logits_match
FROM g_pairs WHERE kind = 'pair' GROUP BY model ORDER BY model;

-- the label of the highest logit, and every label's probability (they sum
-- to 1; the sigmoid of the one logit of the cross-encoder)
SELECT bert_classify('A man is playing a guitar.', 'Someone plays an instrument.',
                     'bert-tiny-random-nli') AS label;
SELECT label, round(score::numeric, 4) AS score
FROM bert_classify_scores('A man is playing a guitar.', 'Someone plays an instrument.',
                          'bert-tiny-random-nli');
SELECT label, round(score::numeric, 4) AS score
FROM bert_classify_scores('A man is playing a guitar.', 'Someone plays an instrument.',
                          'bert-tiny-random-rerank');
SELECT round(sum(score)::numeric, 6) AS total
FROM bert_classify_scores('The cat sat on the mat.', 'Dogs are loyal animals.', 'bert-tiny-random-cls');

-- a pair is not the single text: the second text has token_type_id 1
SELECT bert_logits('The cat sat on the mat.', 'bert-tiny-random-cls') =
       bert_logits('The cat sat on the mat.', '', 'bert-tiny-random-cls') AS same_as_single;

-- DistilBERT has no token type embeddings: it reads a pair without them
SELECT cardinality(bert_logits('A man is playing a guitar.', 'Someone plays an instrument.',
                               'distilbert-tiny-random-cls')) AS distil_logits;

-- empty texts and an over-long pair (truncated longest-first to 512 tokens)
SELECT cardinality(bert_logits('', '', 'bert-tiny-random-cls')) AS empty_pair,
       cardinality(bert_logits(repeat('word ', 2000), repeat('other ', 2000),
                               'bert-tiny-random-cls')) AS long_pair;

--
-- reranking
--

-- the golden rerank rows: bert_rerank and bert_rerank_score (within 1e-4)
SELECT i, max_abs_diff(ARRAY(SELECT score FROM bert_rerank(g ->> 'query',
                                  ARRAY(SELECT json_array_elements_text(g -> 'documents')),
                                  model) ORDER BY ordinality),
                       json_floats(g -> 'scores')) < 1e-4 AS batch_matches,
       max_abs_diff(ARRAY(SELECT bert_rerank_score(g ->> 'query', d, model)
                          FROM json_array_elements_text(g -> 'documents') WITH ORDINALITY AS e(d, n)
                          ORDER BY n),
                    json_floats(g -> 'scores')) < 1e-4 AS single_matches
FROM g_pairs WHERE kind = 'rerank' ORDER BY i;

-- array order; a NULL document gets a NULL score; rerank by sorting
SELECT ordinality, round(score::numeric, 4) AS score
FROM bert_rerank('what causes rain',
                 ARRAY['Rain forms when water vapour condenses.', NULL,
                       'The stock market closed higher.', 'rain'],
                 'bert-tiny-random-rerank');
SELECT d.doc
FROM unnest(ARRAY['Rain forms when water vapour condenses.', 'The stock market closed higher.',
                  'Clouds are made of tiny water droplets.']) WITH ORDINALITY AS d(doc, n)
JOIN bert_rerank('what causes rain',
                 ARRAY['Rain forms when water vapour condenses.', 'The stock market closed higher.',
                       'Clouds are made of tiny water droplets.'],
                 'bert-tiny-random-rerank') r ON r.ordinality = d.n
ORDER BY r.score DESC;

-- empty, all-NULL and non-1-based arrays
SELECT count(*) AS no_rows FROM bert_rerank('q', '{}'::text[], 'bert-tiny-random-rerank');
SELECT ordinality, score IS NULL AS null_score
FROM bert_rerank('q', ARRAY[NULL, NULL]::text[], 'bert-tiny-random-rerank');
SELECT ordinality, round(score::numeric, 4) AS score
FROM bert_rerank('best pizza in naples', '[0:1]={"Naples is the birthplace of pizza margherita.",""}'::text[],
                 'bert-tiny-random-rerank');

-- 3,000 documents of many lengths (several groups and forward passes)
-- score as 3,000 single calls do, to within float rounding
WITH docs AS (
    SELECT array_agg(repeat('clouds and rain ', 1 + n % 37) || n ORDER BY n) AS a
    FROM generate_series(1, 3000) AS n)
SELECT count(*) AS documents,
       max(abs(r.score - bert_rerank_score('what causes rain', docs.a[r.ordinality],
                                           'bert-tiny-random-rerank'))) < 1e-6 AS batch_is_single
FROM docs, bert_rerank('what causes rain', docs.a, 'bert-tiny-random-rerank') r;

-- a model with several labels: the softmax probability of the last one
SELECT round(bert_rerank_score('A man is playing a guitar.', 'Someone plays an instrument.',
                               'bert-tiny-random-nli')::numeric, 4) AS last_label,
       round((SELECT score FROM bert_classify_scores('A man is playing a guitar.',
                                                     'Someone plays an instrument.',
                                                     'bert-tiny-random-nli')
              WHERE label = 'entailment')::numeric, 4) AS entailment;

--
-- zero-shot classification
--

-- the golden zero-shot rows: labels in the same order, scores within 1e-4
SELECT i, g ->> 'multi_label' AS multi_label,
       ARRAY(SELECT label FROM bert_zero_shot(g ->> 'text',
                                 ARRAY(SELECT json_array_elements_text(g -> 'candidate_labels')),
                                 model, g ->> 'hypothesis_template', (g ->> 'multi_label')::boolean))
         = ARRAY(SELECT json_array_elements_text(g -> 'labels')) AS labels_match,
       max_abs_diff(ARRAY(SELECT score FROM bert_zero_shot(g ->> 'text',
                                 ARRAY(SELECT json_array_elements_text(g -> 'candidate_labels')),
                                 model, g ->> 'hypothesis_template', (g ->> 'multi_label')::boolean)),
                    json_floats(g -> 'scores')) < 1e-4 AS scores_match
FROM g_pairs WHERE kind = 'zero_shot' ORDER BY i;

-- highest first; single-label scores sum to 1; NULL candidates skipped
SELECT label, round(score::numeric, 4) AS score
FROM bert_zero_shot('The new phone has a faster chip and a better camera.',
                    ARRAY['technology', NULL, 'sports', 'politics'], 'bert-tiny-random-nli');
SELECT round(sum(score)::numeric, 6) AS total
FROM bert_zero_shot('The new phone has a faster chip.', ARRAY['technology', 'sports', 'politics'],
                    'bert-tiny-random-nli');
-- multi-label: each candidate on its own, as with one candidate
SELECT label, round(score::numeric, 4) AS score
FROM bert_zero_shot('The senate passed the budget bill late on Thursday.',
                    ARRAY['politics', 'finance'], 'bert-tiny-random-nli', multi_label => true);
SELECT round(score::numeric, 4) AS one_candidate
FROM bert_zero_shot('The senate passed the budget bill late on Thursday.',
                    ARRAY['politics'], 'bert-tiny-random-nli');
-- the template: {} replaced by the label (every {}), as the named default
SELECT (SELECT array_agg(score) FROM bert_zero_shot('A quiet film about grief.', ARRAY['cinema', 'music'],
                                                    'bert-tiny-random-nli'))
     = (SELECT array_agg(score) FROM bert_zero_shot('A quiet film about grief.', ARRAY['cinema', 'music'],
                                                    'bert-tiny-random-nli', 'This example is {}.')) AS default_template;
SELECT label, round(score::numeric, 4) AS score
FROM bert_zero_shot('A quiet film about grief.', ARRAY['cinema', 'music'], 'bert-tiny-random-nli',
                    'It is about {}, {} and nothing else.');
-- empty and all-NULL candidate lists
SELECT count(*) AS no_rows FROM bert_zero_shot('x', '{}'::text[], 'bert-tiny-random-nli');
SELECT count(*) AS no_rows FROM bert_zero_shot('x', ARRAY[NULL]::text[], 'bert-tiny-random-nli');

--
-- chunking
--

-- whole words of at most max_tokens pieces; chunk = the text at its offsets
SELECT chunk_no, chunk, start_char, end_char, tokens,
       substr(t, start_char + 1, end_char - start_char) = chunk AS at_offsets
FROM (SELECT 'Crème brûlée is a dessert of rich custard, topped with hard caramel.' AS t) s,
     bert_chunk(t, 6, 'bert-tiny-random');
-- consecutive chunks share up to `overlap` pieces of whole words
SELECT chunk_no, chunk, tokens
FROM bert_chunk('The quick brown fox jumps over the lazy dog.', 5, 'bert-tiny-random', 2);
-- a word longer than max_tokens is cut between pieces; one [UNK] word is
-- one piece
SELECT chunk_no, chunk, tokens
FROM bert_chunk('Supercalifragilisticexpialidocious!', 4, 'bert-tiny-random', 1);
SELECT chunk_no, length(chunk), tokens FROM bert_chunk(repeat('x', 5000), 4, 'bert-tiny-random');
-- CJK without spaces: every ideograph is a word; emoji
SELECT chunk_no, chunk, tokens FROM bert_chunk('東京は日本の首都です。', 4, 'bert-tiny-random');
SELECT chunk_no, chunk, tokens FROM bert_chunk('I ❤️ NY 😀 and 🎉!', 3, 'bert-tiny-random');
-- a Hangul syllable is several pieces: cut between characters when
-- possible, inside one only when max_tokens is smaller than it
SELECT chunk_no, chunk, tokens FROM bert_chunk('가단어', 3, 'bert-tiny-random');
SELECT chunk_no, chunk, tokens FROM bert_chunk('단', 1, 'bert-tiny-random');
-- nothing to cut
SELECT count(*) AS no_rows FROM bert_chunk('', 8, 'bert-tiny-random');
SELECT count(*) AS no_rows FROM bert_chunk(E' \t\n\r ', 8, 'bert-tiny-random');
-- max_tokens up to the model's limit minus [CLS] and [SEP]: 510 here, 126
-- for the demo models (model_max_length 128), or bert.max_length - 2
SELECT count(*), sum(tokens) FROM bert_chunk(repeat('word ', 1000), 510, 'bert-tiny-random');
SET bert.model_dir = :'models';
SELECT count(*), sum(tokens) FROM bert_chunk(repeat('word ', 1000), 126, 'bert-mini-embed');
SET bert.model_dir = :'testmodels';
SET bert.max_length = 64;
SELECT count(*), max(tokens) FROM bert_chunk(repeat('word ', 1000), 62, 'bert-tiny-random');
SELECT count(*) FROM bert_chunk(repeat('word ', 1000), 63, 'bert-tiny-random');
RESET bert.max_length;
-- embedding every chunk of a long document
SELECT count(*) AS chunks, bool_and(cardinality(bert_embed(chunk, 'bert-tiny-random')) = 32) AS embedded
FROM bert_chunk(repeat('The film opens in a small town. Its mayor has a secret. ', 60), 64,
                'bert-tiny-random', 8);

--
-- NULL in, no result (STRICT)
--
SELECT bert_classify(NULL, 'x', 'bert-tiny-random-nli') IS NULL AS t1,
       bert_logits('x', NULL, 'bert-tiny-random-nli') IS NULL AS t2,
       bert_rerank_score('x', 'y', NULL) IS NULL AS t3;
SELECT count(*) AS no_rows FROM bert_rerank(NULL, ARRAY['x'], 'bert-tiny-random-rerank');
SELECT count(*) AS no_rows FROM bert_rerank('x', NULL, 'bert-tiny-random-rerank');
SELECT count(*) AS no_rows FROM bert_zero_shot('x', ARRAY['a'], 'bert-tiny-random-nli', NULL);
SELECT count(*) AS no_rows FROM bert_chunk('x', NULL, 'bert-tiny-random');

--
-- errors
--

-- a model without a sequence-classification head
SELECT bert_classify('a', 'b', 'bert-tiny-random');
SELECT * FROM bert_classify_scores('a', 'b', 'bert-tiny-random-ner');
SELECT bert_logits('a', 'b', 'bert-tiny-random-pretrain');
SELECT bert_rerank_score('a', 'b', 'bert-tiny-random');
SELECT * FROM bert_rerank('a', ARRAY['b'], 'bert-tiny-random-qa');
SELECT * FROM bert_rerank('a', '{}'::text[], 'bert-tiny-random');
SELECT * FROM bert_zero_shot('a', ARRAY['b'], 'bert-tiny-random');
-- zero-shot needs an entailment label (the error names the labels)
SELECT * FROM bert_zero_shot('a', ARRAY['b'], 'bert-tiny-random-cls');
SELECT * FROM bert_zero_shot('a', ARRAY['b'], 'bert-tiny-random-rerank');
-- a template without {}
SELECT * FROM bert_zero_shot('a', ARRAY['b'], 'bert-tiny-random-nli', 'This example is about it.');
SELECT * FROM bert_zero_shot('a', '{}'::text[], 'bert-tiny-random-nli', '{ }');
-- arrays of more than one dimension
SELECT * FROM bert_rerank('a', ARRAY[['b', 'c'], ['d', 'e']], 'bert-tiny-random-rerank');
SELECT * FROM bert_zero_shot('a', ARRAY[['b'], ['c']], 'bert-tiny-random-nli');
-- max_tokens and overlap out of range
SELECT * FROM bert_chunk('a b c', 0, 'bert-tiny-random');
SELECT * FROM bert_chunk('a b c', 511, 'bert-tiny-random');
SET bert.model_dir = :'models';
SELECT * FROM bert_chunk('a b c', 127, 'bert-mini-embed');
SET bert.model_dir = :'testmodels';
SELECT * FROM bert_chunk('a b c', 4, 'bert-tiny-random', 4);
SELECT * FROM bert_chunk('a b c', 4, 'bert-tiny-random', 9);
SELECT * FROM bert_chunk('a b c', 4, 'bert-tiny-random', -1);
-- the model must exist
SELECT * FROM bert_chunk('a b c', 4, 'no/such/model');
-- a model with one token type cannot take the second text of a pair: an
-- error before any forward pass (its single texts still work)
SET bert.model_dir = :'badmodels';
SELECT cardinality(bert_logits('one text', 'cls-type-vocab-1')) AS single_text;
SELECT bert_logits('one text', 'and another', 'cls-type-vocab-1');
SELECT bert_classify('one text', 'and another', 'cls-type-vocab-1');
SELECT * FROM bert_rerank('query', ARRAY[NULL, 'document'], 'cls-type-vocab-1');
SELECT * FROM bert_zero_shot('premise', ARRAY['label'], 'cls-type-vocab-1');
SET bert.model_dir = :'testmodels';
