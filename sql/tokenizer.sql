--
-- tokenizer: bert_tokenize() and bert_token_ids() against Hugging Face's
-- BertTokenizer (the golden files' input_ids)
--
\getenv testmodels BERT_TESTMODELS
\getenv models BERT_MODELS
\getenv badmodels BERT_BADMODELS
LOAD 'bert';
SET bert.model_dir = :'testmodels';

CREATE TEMP TABLE g_tiny AS
SELECT i, g ->> 'text' AS text, json_ints(g -> 'input_ids') AS ids
FROM golden(:'testmodels' || '/golden/bert-tiny-random.jsonl');

-- NULL in, NULL out (STRICT), whichever argument is NULL
SELECT bert_tokenize(NULL, 'bert-tiny-random') IS NULL AS t1,
       bert_tokenize('x', NULL) IS NULL AS t2,
       bert_token_ids(NULL, 'bert-tiny-random') IS NULL AS t3,
       bert_token_ids('x', NULL) IS NULL AS t4,
       bert_tokenize(NULL) IS NULL AS t5,
       bert_token_ids(NULL) IS NULL AS t6;

-- empty and blank input: just [CLS] [SEP]
SELECT bert_tokenize('', 'bert-tiny-random'), bert_token_ids('', 'bert-tiny-random');
SELECT bert_tokenize(E'   \t\n\r ', 'bert-tiny-random');

-- a handful of inputs, tokens shown, ids compared with the golden file
SELECT i, bert_tokenize(text, 'bert-tiny-random') AS tokens,
       bert_token_ids(text, 'bert-tiny-random') = ids AS golden_ids
FROM g_tiny WHERE i IN (0, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 19, 22, 23)
ORDER BY i;

-- the ids themselves for some of them
SELECT i, bert_token_ids(text, 'bert-tiny-random') AS ids
FROM g_tiny WHERE i IN (0, 7, 9, 10, 12, 26)
ORDER BY i;

-- CJK ideographs are split one per token (here: not in the vocabulary
-- except 世, so [UNK]); the full-width comma is punctuation
SELECT bert_tokenize('你好，世界', 'bert-tiny-random');
SELECT bert_tokenize('大家好我是GPT', 'bert-tiny-random');

-- special tokens written in the text stay whole (case-sensitive);
-- ids as in bert-tiny-random-pretrain's golden file
SELECT g ->> 'text' AS text,
       bert_tokenize(g ->> 'text', 'bert-tiny-random') AS tokens,
       bert_token_ids(g ->> 'text', 'bert-tiny-random') = json_ints(g -> 'input_ids') AS golden_ids
FROM golden(:'testmodels' || '/golden/bert-tiny-random-pretrain.jsonl')
WHERE g ->> 'text' LIKE '%[MASK]%'
ORDER BY i;
SELECT bert_tokenize('x[MASK]y', 'bert-tiny-random');
SELECT bert_tokenize('the [mask] sat', 'bert-tiny-random');
SELECT bert_tokenize('[CLS] hi [SEP] [UNK] [PAD]', 'bert-tiny-random');
SELECT bert_token_ids('[CLS] hi [SEP] [UNK] [PAD]', 'bert-tiny-random');

-- a word longer than 100 characters is one [UNK]; 100 characters are not
SELECT bert_tokenize(repeat('a', 101), 'bert-tiny-random');
SELECT bert_token_ids(repeat('a', 100), 'bert-tiny-random')
       = ARRAY[101, 13360] || array_fill(11057, ARRAY[48]) || ARRAY[2050, 102] AS split,
       (bert_tokenize(repeat('a', 100), 'bert-tiny-random'))[1:4] AS first_tokens;

-- long inputs are cut to 512 tokens ([CLS] + 510 + [SEP])
SELECT i, cardinality(tokens) AS n, tokens[cardinality(tokens) - 2:] AS last_tokens,
       golden_ids
FROM (SELECT i, bert_tokenize(text, 'bert-tiny-random') AS tokens,
             bert_token_ids(text, 'bert-tiny-random') = ids AS golden_ids
      FROM g_tiny WHERE i IN (27, 28, 29)) AS t
ORDER BY i;

-- every golden input of every model (pairs excepted: no SQL function takes
-- them); bert-mini-* stop at their model_max_length of 128
SELECT model, count(*) AS inputs,
       count(*) FILTER (WHERE bert_token_ids(g ->> 'text', model) = json_ints(g -> 'input_ids')) AS same_ids,
       max(cardinality(bert_token_ids(g ->> 'text', model))) AS longest
FROM unnest(ARRAY['bert-tiny-random', 'bert-tiny-random-f16',
                  'bert-tiny-random-cls', 'distilbert-tiny-random-cls',
                  'bert-tiny-random-pretrain']) AS model,
     golden(:'testmodels' || '/golden/' || model || '.jsonl')
WHERE g -> 'text_pair' IS NULL
GROUP BY model ORDER BY model COLLATE "C";
SET bert.model_dir = :'models';
SELECT model, count(*) AS inputs,
       count(*) FILTER (WHERE bert_token_ids(g ->> 'text', model) = json_ints(g -> 'input_ids')) AS same_ids,
       max(cardinality(bert_token_ids(g ->> 'text', model))) AS longest
FROM unnest(ARRAY['bert-mini-sentiment', 'bert-mini-embed']) AS model,
     golden(:'models' || '/golden/' || model || '.jsonl')
GROUP BY model ORDER BY model COLLATE "C";

-- the one-argument forms use bert.embed_model
SET bert.model_dir = :'testmodels';
SET bert.embed_model = 'bert-tiny-random';
SELECT bert_tokenize('Hello, world'), bert_token_ids('Hello, world');
SELECT count(*) AS inputs, count(*) FILTER (WHERE bert_token_ids(text) = ids) AS same_ids,
       count(*) FILTER (WHERE bert_tokenize(text) = bert_tokenize(text, 'bert-tiny-random')) AS same_tokens
FROM g_tiny;
RESET bert.embed_model;

-- a model with only tokenizer.json (no vocab.txt) tokenizes the same
SET bert.model_dir = :'badmodels';
SELECT bert_tokenize('Café au lait, naïve résumé', 'tokenizer-json-only');
SELECT count(*) AS inputs,
       count(*) FILTER (WHERE bert_token_ids(text, 'tokenizer-json-only') = ids) AS same_ids
FROM g_tiny;

--
-- database encodings other than UTF-8: text is converted to UTF-8 for the
-- tokenizer and tokens back to the database encoding
--
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS bert_regress_latin1;
DROP DATABASE IF EXISTS bert_regress_sql_ascii;
RESET client_min_messages;
CREATE DATABASE bert_regress_latin1 ENCODING 'LATIN1' TEMPLATE template0
    LOCALE_PROVIDER libc LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE bert_regress_sql_ascii ENCODING 'SQL_ASCII' TEMPLATE template0
    LOCALE_PROVIDER libc LC_COLLATE 'C' LC_CTYPE 'C';

\c bert_regress_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION bert;
SET bert.model_dir = :'testmodels';
SELECT bert_tokenize('Café naïve Straße façade', 'bert-tiny-random');
SELECT bert_token_ids('Café naïve Straße façade', 'bert-tiny-random');

-- SQL_ASCII: bytes are taken as UTF-8 and must be valid UTF-8
\c bert_regress_sql_ascii
SET client_encoding = 'UTF8';
CREATE EXTENSION bert;
SET bert.model_dir = :'testmodels';
SELECT bert_tokenize('Café naïve Straße façade', 'bert-tiny-random');
SELECT bert_token_ids('Café naïve Straße façade', 'bert-tiny-random');
SELECT bert_tokenize(E'caf\xe9', 'bert-tiny-random');

\c :regress_db
DROP DATABASE bert_regress_latin1;
DROP DATABASE bert_regress_sql_ascii;
-- the same ids in UTF-8
LOAD 'bert';
SET bert.model_dir = :'testmodels';
SELECT bert_token_ids('Café naïve Straße façade', 'bert-tiny-random');
