--
-- lookups: every id is looked up in the table it indexes, within its
-- bounds.  Fixtures of test/fixtures/make_bad_models.py whose tables
-- disagree in size: the vocabulary against the rows of word_embeddings
-- (config.json vocab_size).
--
\getenv testmodels BERT_TESTMODELS
\getenv badmodels BERT_BADMODELS
LOAD 'bert';

-- the reference: the full model's ranking of its whole vocabulary
SET bert.model_dir = :'testmodels';
CREATE TEMP TABLE full_rank AS
SELECT f.position, f.token, f.token_id, f.score, f.n
FROM bert_fill_mask('a [MASK] of the.', 'bert-tiny-random-pretrain', 30522)
     WITH ORDINALITY AS f(position, token, token_id, score, sequence, n);
-- (the text's tokens all lie in the first 2,000 ids); the random model's
-- best guesses lie mostly past them
SELECT count(*) FILTER (WHERE token_id >= 2000) AS top_5_past_2000
FROM full_rank WHERE n <= 5;

SET bert.model_dir = :'badmodels';

--
-- A vocabulary of 2,000 tokens before an embedding table of 30,522 rows
-- (vocab.txt, or tokenizer.json alone): allowed, as in transformers, whose
-- checkpoints often pad vocab_size.  The softmax runs over every row of the
-- decoder, as transformers computes it, and the ids without a token are
-- never returned: the ranking is the full model's without them, with the
-- same probabilities (for a text of tokens both vocabularies have).
--
SELECT m AS model, f.n, f.token, f.token_id,
       abs(f.score - r.score) < 1e-6 AS same_score,
       r.n AS full_rank
FROM unnest(ARRAY['vocab-shorter-than-embeddings',
                  'tokenizer-json-shorter-than-embeddings']) AS m,
     bert_fill_mask('a [MASK] of the.', m, 5)
         WITH ORDINALITY AS f(position, token, token_id, score, sequence, n)
LEFT JOIN full_rank r USING (token_id)
ORDER BY m, f.n;
-- top_k past the vocabulary is the vocabulary: 2,000 rows, each id once, in
-- the full model's order
SELECT m AS model, count(*) AS rows, max(f.token_id) AS max_id,
       count(DISTINCT f.token_id) AS ids,
       array_agg(f.token_id ORDER BY f.n) = (SELECT array_agg(token_id ORDER BY n)
                                            FROM full_rank WHERE token_id < 2000) AS full_order,
       round(sum(f.score)::numeric, 4) = (SELECT round(sum(score)::numeric, 4)
                                          FROM full_rank WHERE token_id < 2000) AS same_mass
FROM unnest(ARRAY['vocab-shorter-than-embeddings',
                  'tokenizer-json-shorter-than-embeddings']) AS m,
     bert_fill_mask('a [MASK] of the.', m, 1000000)
         WITH ORDINALITY AS f(position, token, token_id, score, sequence, n)
GROUP BY m ORDER BY m;
-- words outside the 2,000 tokens are [UNK]; the other functions work
SELECT bert_tokenize('The capital of France', 'vocab-shorter-than-embeddings') AS tokens,
       bert_token_ids('The capital of France', 'tokenizer-json-shorter-than-embeddings') AS ids;
SELECT round(bert_next_sentence('The film opens.', 'A town.', 'vocab-shorter-than-embeddings')::numeric, 4)
     = round(bert_next_sentence('The film opens.', 'A town.', 'tokenizer-json-shorter-than-embeddings')::numeric, 4)
       AS same_nsp;
SELECT name, vocab_size FROM bert_models()
WHERE name LIKE '%shorter%' ORDER BY name COLLATE "C";

--
-- A vocabulary with ids past the last row of word_embeddings: an error
-- when the model loads (transformers would fail on the first such id)
--
SELECT bert_embed('x', 'vocab-longer-than-embeddings');
SELECT bert_tokenize('x', 'tokenizer-json-longer-than-embeddings');

--
-- Token types against type_vocab_size: a BERT model with one token type
-- (one row of token_type_embeddings, the last bytes of its file) takes
-- single texts, with the results of the model it was cut from, and refuses
-- every pair: the second text of a pair has token type 1 (transformers'
-- tokenizer builds the same ids, and the model fails on them)
--
SET bert.model_dir = :'testmodels';
CREATE TEMP TABLE two_types AS
SELECT position, logits FROM bert_token_logits('Who wrote it?', 'bert-tiny-random-qa');
SET bert.model_dir = :'badmodels';
SELECT count(*) AS tokens, max(max_abs_diff(t.logits, o.logits::float8[])) < 1e-6 AS same_logits
FROM bert_token_logits('Who wrote it?', 'one-token-type-qa') t JOIN two_types o USING (position);
SELECT count(*) AS fill_mask_rows FROM bert_fill_mask('a [MASK] of the.', 'one-token-type-pretrain');
SELECT * FROM bert_token_logits('Who wrote it?', 'Ann wrote it.', 'one-token-type-qa');
SELECT * FROM bert_answer('Who wrote it?', 'Ann wrote it.', 'one-token-type-qa');
SELECT * FROM bert_answer('Who wrote it?', repeat('Ann wrote it. ', 200), 'one-token-type-qa');
SELECT bert_next_sentence('The film opens.', 'A town.', 'one-token-type-pretrain');
-- the check does not depend on the texts: an empty second text is a pair too
SELECT bert_next_sentence('The film opens.', '', 'one-token-type-pretrain');
