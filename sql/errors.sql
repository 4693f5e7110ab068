--
-- errors: every configuration mistake and defective model directory gives
-- an ERROR naming the problem (with DETAIL and HINT), never a crash.
-- Files are named relative to bert.model_dir.
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
\getenv badmodels BERT_BADMODELS
LOAD 'bert';

--
-- configuration
--

-- bert.model_dir not set
SELECT bert_embed('x', 'bert-tiny-random');
SELECT bert_sentiment('x', 'bert-tiny-random-cls');
SELECT bert_tokenize('x');

-- no model argument and the setting is empty
SET bert.model_dir = :'testmodels';
SELECT bert_embed('x');
SELECT bert_tokenize('x');
SELECT bert_token_ids('x');
SELECT bert_last_hidden_state('x');
SELECT bert_pooler_output('x');
SELECT bert_sentiment('x');
SELECT * FROM bert_sentiment_scores('x');
SELECT bert_logits('x');
-- the settings are per function family
SET bert.embed_model = 'bert-tiny-random';
SELECT bert_sentiment('x');
RESET bert.embed_model;
SET bert.sentiment_model = 'bert-tiny-random-cls';
SELECT bert_embed('x');
RESET bert.sentiment_model;
-- an empty model argument is the same as none
SELECT bert_embed('x', '');

-- model names are plain sub-directory names
SELECT bert_embed('x', 'testmodels/bert-tiny-random');
SELECT bert_embed('x', '../testmodels');
SELECT bert_embed('x', '..');
SELECT bert_embed('x', '.');
SELECT bert_embed('x', '/etc');
SELECT bert_sentiment('x', 'bert-tiny-random-cls/');
SET bert.embed_model = '../bert-tiny-random';
SELECT bert_tokenize('x');
RESET bert.embed_model;
SELECT bert_embed('x', repeat('m', 256));

-- a model that does not exist (VERBOSITY terse: the HINT shows the
-- absolute bert.model_dir)
\set VERBOSITY terse
SELECT bert_embed('x', 'no-such-model');
SELECT bert_embed('x', repeat('m', 255));
SET bert.sentiment_model = 'no-such-model';
SELECT bert_sentiment('x');
RESET bert.sentiment_model;
-- a file, not a directory
SET bert.model_dir = :'models';
SELECT bert_embed('x', 'EVAL.md');
\set VERBOSITY default
-- a directory that is not a model
SELECT bert_embed('x', 'golden');
SET bert.model_dir = :'testmodels';

-- bert.model_dir itself missing
SET bert.model_dir = '/nonexistent/bert-models';
SELECT bert_embed('x', 'bert-tiny-random');
SET bert.model_dir = :'testmodels';

--
-- the wrong kind of model
--

-- bert_sentiment() needs a sequence classifier
SELECT bert_sentiment('x', 'bert-tiny-random');
SELECT bert_sentiment('x', 'bert-tiny-random-pretrain');
-- bert_logits() and bert_sentiment_scores() likewise (SQLSTATE only: their
-- message names bert_sentiment())
SELECT sqlstate_of($$SELECT bert_logits('x', 'bert-tiny-random')$$) AS bert_logits,
       sqlstate_of($$SELECT * FROM bert_sentiment_scores('x', 'bert-tiny-random')$$) AS bert_sentiment_scores;
-- DistilBERT has no pooler
SELECT bert_pooler_output('x', 'distilbert-tiny-random-cls');
SET bert.embed_model = 'distilbert-tiny-random-cls';
SELECT bert_pooler_output('x');
-- ... but embeds and tokenizes
SELECT array_length(bert_embed('x'), 1), bert_tokenize('x');
RESET bert.embed_model;

-- the array forms check likewise, and take one-dimensional arrays
SELECT * FROM bert_sentiment(ARRAY['x'], 'bert-tiny-random');
SELECT * FROM bert_embed('{{a,b},{c,d}}'::text[], 'bert-tiny-random');
SELECT * FROM bert_sentiment('{{a,b},{c,d}}'::text[], 'bert-tiny-random-cls');
SELECT * FROM bert_embed(ARRAY['x']);
SELECT * FROM bert_sentiment(ARRAY['x']);

--
-- bert_cosine_similarity arguments
--
SELECT bert_cosine_similarity('{1,2,3}', '{1,2}');
SELECT bert_cosine_similarity('{}', '{1}');
SELECT bert_cosine_similarity(bert_embed('x', 'bert-tiny-random'), '{1,2,3}');
SELECT bert_cosine_similarity('{{1,2},{3,4}}', '{1,2,3,4}');
SELECT bert_cosine_similarity('{1,2}', '{1,NULL}');

--
-- defective model directories (test/fixtures/make_bad_models.py)
--
SET bert.model_dir = :'badmodels';

-- config.json
SELECT bert_embed('x', 'no-config');
SELECT bert_embed('x', 'config-invalid-json');
SELECT bert_embed('x', 'config-unsupported-architecture');
SELECT bert_embed('x', 'config-unsupported-activation');
SELECT bert_embed('x', 'config-heads-not-divisor');
-- unreadable by the server (mode 000; test/run_tests.sh makes the fixtures
-- readable for all, so the mode is set here)
\! chmod 000 "$BERT_BADMODELS/config-unreadable/config.json"
SELECT bert_embed('x', 'config-unreadable');

-- tokenizer files
SELECT bert_embed('x', 'no-vocab');
SELECT bert_tokenize('x', 'vocab-without-cls');

-- model.safetensors: the file and its header
SELECT bert_embed('x', 'no-weights');
SELECT bert_embed('x', 'weights-too-short');
SELECT bert_embed('x', 'weights-header-too-long');
SELECT bert_embed('x', 'weights-header-not-json');
SELECT bert_embed('x', 'weights-unknown-dtype');
SELECT bert_embed('x', 'weights-offsets-outside');
SELECT bert_embed('x', 'weights-overlapping-tensors');

-- model.safetensors: the tensors against config.json
SELECT bert_embed('x', 'weights-missing-tensor');
SELECT bert_embed('x', 'weights-shape-mismatch');
SELECT bert_embed('x', 'weights-i64');

-- sentence-transformers files
SELECT bert_embed('x', 'pooling-path-dotdot');
SELECT bert_embed('x', 'pooling-two-modes');

-- symbolic links out of bert.model_dir are refused ...
SELECT bert_embed('x', 'weights-symlink-outside');
SELECT bert_embed('x', 'model-symlink-outside');
SELECT bert_tokenize('x', 'model-symlink-outside');
-- ... links inside it are fine
SELECT array_length(bert_embed('x', 'model-symlink-inside'), 1) AS dims;

-- every function reports the defect the same way
SELECT bert_tokenize('x', 'weights-shape-mismatch');
SELECT bert_token_ids('x', 'weights-shape-mismatch');
SELECT bert_last_hidden_state('x', 'weights-shape-mismatch');
SELECT bert_pooler_output('x', 'weights-shape-mismatch');
SELECT bert_sentiment('x', 'weights-shape-mismatch');
SELECT bert_logits('x', 'weights-shape-mismatch');
SELECT * FROM bert_sentiment_scores('x', 'weights-shape-mismatch');
-- and the same again: a failed load is not cached
SELECT bert_embed('x', 'weights-shape-mismatch');

-- an error inside a transaction aborts only that transaction
BEGIN;
SELECT bert_embed('x', 'weights-i64');
SELECT 1;
ROLLBACK;
SELECT array_length(bert_embed('x', 'tokenizer-json-only'), 1) AS dims;

-- only the models that loaded are in this backend's cache
SELECT name, architecture FROM bert_models() ORDER BY name COLLATE "C";

--
-- the per-backend cache notices a model directory that changed
--
\! rm -rf "$BERT_BADMODELS/cache-test"
\! cp -R "$BERT_TESTMODELS/bert-tiny-random" "$BERT_BADMODELS/cache-test" && chmod -R u+w,a+rX "$BERT_BADMODELS/cache-test"
SELECT bert_token_ids('Hello, world', 'cache-test');
-- config.json replaced by a broken one: loaded again, and the error shows
\! printf '{"architectures": ["BertModel"],' > "$BERT_BADMODELS/cache-test/config.json.new" && chmod a+r "$BERT_BADMODELS/cache-test/config.json.new" && mv "$BERT_BADMODELS/cache-test/config.json.new" "$BERT_BADMODELS/cache-test/config.json"
SELECT bert_token_ids('Hello, world', 'cache-test');
SELECT count(*) AS cached FROM bert_models() WHERE name = 'cache-test';
-- repaired
\! cp "$BERT_TESTMODELS/bert-tiny-random/config.json" "$BERT_BADMODELS/cache-test/config.json.new" && chmod a+r "$BERT_BADMODELS/cache-test/config.json.new" && mv -f "$BERT_BADMODELS/cache-test/config.json.new" "$BERT_BADMODELS/cache-test/config.json"
SELECT bert_token_ids('Hello, world', 'cache-test');
-- the weights replaced by a file of another model (the classifier's, with
-- its own config.json): the new model is used
\! cp "$BERT_TESTMODELS/bert-tiny-random-cls/config.json" "$BERT_TESTMODELS/bert-tiny-random-cls/model.safetensors" "$BERT_BADMODELS/cache-test/" && chmod -R a+rX "$BERT_BADMODELS/cache-test"
SELECT bert_sentiment('Hello, world', 'cache-test');
SELECT name, architecture, labels FROM bert_models() WHERE name = 'cache-test';
-- removed
\! rm -rf "$BERT_BADMODELS/cache-test"
\set VERBOSITY terse
SELECT bert_sentiment('Hello, world', 'cache-test');
\set VERBOSITY default
SELECT count(*) AS cached FROM bert_models() WHERE name = 'cache-test';
