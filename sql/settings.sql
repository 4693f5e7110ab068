--
-- settings: the bert.* GUCs, their defaults and bounds, and what they do
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
LOAD 'bert';

-- every setting, with its defaults and bounds
SELECT name, setting, boot_val, vartype, context, min_val, max_val, short_desc
FROM pg_settings WHERE name LIKE 'bert.%' ORDER BY name COLLATE "C";
SHOW bert.model_dir;
SHOW bert.embed_model;
SHOW bert.sentiment_model;
SHOW bert.max_length;
SHOW bert.threads;

--
-- bert.max_length: tokens per sequence, [CLS] and [SEP] included
--
SET bert.model_dir = :'testmodels';
SET bert.max_length = 5;
SELECT bert_tokenize('The quick brown fox jumps over the lazy dog', 'bert-tiny-random');
SELECT bert_token_ids('The quick brown fox jumps over the lazy dog', 'bert-tiny-random');
SELECT array_dims(bert_last_hidden_state('The quick brown fox jumps over the lazy dog', 'bert-tiny-random'));
-- the embedding is that of the truncated text
SELECT bert_embed('The quick brown fox jumps over the lazy dog', 'bert-tiny-random')
     = bert_embed('The quick brown', 'bert-tiny-random') AS same_as_truncated;
-- shorter inputs are not padded
SELECT bert_tokenize('hi', 'bert-tiny-random');
-- a word piece cut in the middle of a word
SELECT bert_tokenize('UNAFFABLE unaffable', 'bert-tiny-random');
-- the smallest value: [CLS] + one token + [SEP]
SET bert.max_length = 3;
SELECT bert_tokenize('The quick brown fox', 'bert-tiny-random'), bert_tokenize('', 'bert-tiny-random');
SELECT max_length FROM bert_models() WHERE name = 'bert-tiny-random';
-- out of bounds
SET bert.max_length = 2;
SET bert.max_length = 0;
SET bert.max_length = -1;
SET bert.max_length = 65537;
SET bert.max_length = 'many';
SHOW bert.max_length;
SET bert.max_length = 65536;
SELECT cardinality(bert_token_ids(repeat('word ', 600), 'bert-tiny-random')) AS capped_by_model;
RESET bert.max_length;
SELECT cardinality(bert_token_ids(repeat('word ', 600), 'bert-tiny-random')) AS default_512;
-- the model's own limits (model_max_length 128 in tokenizer_config.json)
-- apply too; the smallest wins
SET bert.model_dir = :'models';
SELECT cardinality(bert_token_ids(repeat('word ', 600), 'bert-mini-sentiment')) AS model_limit;
SET bert.max_length = 64;
SELECT cardinality(bert_token_ids(repeat('word ', 600), 'bert-mini-sentiment')) AS setting_limit;
SELECT name, max_length FROM bert_models() ORDER BY name COLLATE "C";
RESET bert.max_length;
SELECT name, max_length FROM bert_models() ORDER BY name COLLATE "C";

--
-- bert.threads: OpenBLAS threads; results do not depend on it
--
SET bert.model_dir = :'testmodels';
CREATE TEMP TABLE threads_1 AS
SELECT i, bert_embed(g ->> 'text', 'bert-tiny-random') AS e,
       bert_logits(g ->> 'text', 'bert-tiny-random-cls') AS l
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl');
SET bert.threads = 2;
SHOW bert.threads;
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE max_abs_diff(bert_embed(g ->> 'text', 'bert-tiny-random'), e) < 1e-6) AS same_embedding,
       count(*) FILTER (WHERE max_abs_diff(bert_logits(g ->> 'text', 'bert-tiny-random-cls'), l) < 1e-5) AS same_logits
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl') JOIN threads_1 USING (i);
SET bert.threads = 64;
SELECT max_abs_diff(bert_embed('Hello, world', 'bert-tiny-random'), e) < 1e-6 AS same_embedding
FROM threads_1 WHERE i = 5;
-- ... but no more threads start than the CPUs the backend may run on
-- (sched_getaffinity: Cpus_allowed_list of /proc/self/status)
SELECT (regexp_match(st, 'Threads:\s*(\d+)'))[1]::int <=
       (SELECT sum(coalesce(nullif(split_part(r, '-', 2), ''), split_part(r, '-', 1))::int
                   - split_part(r, '-', 1)::int + 1)
        FROM regexp_split_to_table((regexp_match(st, 'Cpus_allowed_list:\s*(\S+)'))[1], ',') AS r)
       AS threads_within_cpus
FROM pg_read_file('/proc/self/status') AS st;
SET bert.threads = 0;
SET bert.threads = 65;
RESET bert.threads;

--
-- bert.model_dir is superuser-only (the server reads files there); the
-- model settings are not
--
SET client_min_messages = warning;
DROP ROLE IF EXISTS bert_regress_user;
RESET client_min_messages;
CREATE ROLE bert_regress_user;
SET ROLE bert_regress_user;
SET bert.model_dir = '/nonexistent/models';
RESET bert.model_dir;
ALTER ROLE bert_regress_user SET bert.model_dir = '/nonexistent/models';
SET bert.embed_model = 'bert-tiny-random';
SET bert.sentiment_model = 'bert-tiny-random-cls';
SET bert.max_length = 6;
SET bert.threads = 1;
-- the functions work with the directory the superuser chose
SELECT bert_token_ids('Hello, world'), bert_sentiment('Hello, world');
RESET ROLE;
SHOW bert.max_length;
RESET bert.max_length;
RESET bert.embed_model;
RESET bert.sentiment_model;
-- nor through a placeholder set before the library is loaded: the value is
-- checked against the role that set it when the library defines the setting
\c -
SET ROLE bert_regress_user;
SET bert.model_dir = '/nonexistent/models';
SELECT bert_token_ids('Hello, world', 'bert-tiny-random');
SHOW bert.model_dir;
RESET ROLE;
DROP ROLE bert_regress_user;

--
-- the bert prefix is reserved (MarkGUCPrefixReserved)
--
SET bert.nonexistent = 1;
SET bert.model = 'bert-tiny-random';
SHOW bert.nonexistent;
SELECT current_setting('bert.nonexistent', true) IS NULL AS absent;
-- placeholders set before the library is loaded are removed when it is
\c -
SET bert.typo_setting = 'x';
SET bert.max_length = 7;
LOAD 'bert';
SHOW bert.max_length;
SHOW bert.typo_setting;
-- a superuser's placeholder for bert.model_dir is kept
\c -
SET bert.model_dir = :'testmodels';
SELECT bert_token_ids('Hello, world', 'bert-tiny-random');
