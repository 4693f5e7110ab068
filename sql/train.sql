--
-- train: fine-tuning and pre-training from SQL (bert_finetune,
-- bert_finetune_tokens, bert_finetune_entities, bert_pretrain,
-- bert_training_progress).
--
-- BERT_TRAINMODELS is a writable directory holding copies of the tiny test
-- models (test/run_tests.sh makes it).  Progress NOTICEs depend on timing,
-- so they are hidden.  Results are checked against the golden training
-- steps of ../shared/testmodels/golden/train/ with tolerances; the written
-- tensors are compared with the golden ones by test/train/run.sh.
--
\getenv testmodels BERT_TESTMODELS
\getenv trainmodels BERT_TRAINMODELS
SET bert.model_dir = :'trainmodels';
SET client_min_messages = warning;

-- the functions: VOLATILE PARALLEL UNSAFE, not STRICT, commented
SELECT p.oid::regprocedure AS function, p.provolatile AS vol, p.proparallel AS par,
       p.proisstrict AS strict, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
FROM pg_proc p
WHERE p.proname IN ('bert_finetune', 'bert_finetune_tokens', 'bert_finetune_entities',
                    'bert_pretrain', 'bert_training_progress')
ORDER BY 1::text;
SELECT count(*) AS running FROM bert_training_progress();

--
-- the golden run: the 12 rows of golden/train/bert-tiny-random-cls.json in
-- order, labels named as the model's id2label, 6 steps of 4 rows, lr 1e-3,
-- 2 warmup steps, weight decay 0.01, dropout off (golden_train.py)
--
CREATE TABLE golden_cls AS
SELECT (n - 1)::int AS id, x ->> 'text' AS text,
       (ARRAY['negative', 'neutral', 'positive'])[(x ->> 'label')::int + 1] AS label
FROM json_array_elements(pg_read_file(:'testmodels' || '/golden/train/bert-tiny-random-cls.json')::json -> 'inputs')
     WITH ORDINALITY AS a(x, n);
SELECT label, count(*) FROM golden_cls GROUP BY label ORDER BY label;

CREATE TABLE golden_run AS
SELECT * FROM bert_finetune('cls-golden', 'bert-tiny-random-cls',
                            'SELECT text, label FROM golden_cls ORDER BY id',
                            epochs => 2, learning_rate => 1e-3, batch_size => 4,
                            warmup_steps => 2, weight_decay => 0.01, dropout => 0,
                            shuffle => false, validation_share => 0);
-- each epoch's loss is the mean of the golden losses of its 3 steps
SELECT r.epoch, r.steps, round(g.mean::numeric, 4) AS golden_mean,
       abs(r.train_loss - g.mean) < 1e-4 AS loss_ok,
       r.validation_loss IS NULL AND r.validation_accuracy IS NULL AS no_validation,
       r.seconds > 0 AS timed
FROM golden_run r
JOIN (SELECT (n - 1) / 3 + 1 AS epoch, avg(l::float8) AS mean
      FROM json_array_elements_text(pg_read_file(:'testmodels' || '/golden/train/bert-tiny-random-cls.json')::json -> 'losses')
           WITH ORDINALITY AS a(l, n)
      GROUP BY 1) g USING (epoch)
ORDER BY epoch;
-- a complete model directory, loaded by the inference functions
SELECT name FROM pg_ls_dir(:'trainmodels' || '/cls-golden') AS name ORDER BY name COLLATE "C";
SELECT j -> 'architectures' AS architectures, j -> 'id2label' AS id2label,
       j -> 'label2id' AS label2id, j ->> 'hidden_act' AS hidden_act
FROM (SELECT pg_read_file(:'trainmodels' || '/cls-golden/config.json')::json AS j) s;
SELECT count(*) AS rows, count(*) FILTER (WHERE bert_sentiment(text, 'cls-golden') IN ('negative', 'neutral', 'positive')) AS labelled
FROM golden_cls;
SELECT count(*) AS temporary_dirs FROM pg_ls_dir(:'trainmodels') AS n WHERE n LIKE '.bert-training-%';

--
-- the defaults: shuffled, dropout from config.json, 10% held out; a table
-- name as training_data; new labels: a new head for distilbert
--
CREATE TABLE default_run AS
SELECT * FROM bert_finetune('distil-topics', 'distilbert-tiny-random-cls', 'golden_cls',
                            epochs => 2, batch_size => 4);
SELECT epoch, steps, train_loss > 0 AS has_loss, validation_loss > 0 AS has_validation,
       validation_accuracy IN (0, 0.5, 1) AS accuracy_of_2_rows
FROM default_run ORDER BY epoch;
SELECT pg_read_file(:'trainmodels' || '/distil-topics/config.json')::json -> 'id2label' AS id2label;
-- the same seed gives the same run; another seed another one
SELECT (SELECT array_agg(train_loss ORDER BY epoch) FROM default_run) =
       (SELECT array_agg(train_loss ORDER BY epoch)
        FROM bert_finetune('distil-topics', 'distilbert-tiny-random-cls', 'golden_cls',
                           epochs => 2, batch_size => 4, replace => true)) AS same_seed_same_losses,
       (SELECT array_agg(train_loss ORDER BY epoch) FROM default_run) <>
       (SELECT array_agg(train_loss ORDER BY epoch)
        FROM bert_finetune('distil-topics', 'distilbert-tiny-random-cls', 'golden_cls',
                           epochs => 2, batch_size => 4, seed => 7, replace => true)) AS other_seed_other_losses;

-- labels of any type, sorted by value: integers 1 < 2 < 10
SELECT epoch FROM bert_finetune('cls-int', 'bert-tiny-random-cls',
    $$SELECT text, CASE label WHEN 'negative' THEN 10 WHEN 'neutral' THEN 2 ELSE 1 END FROM golden_cls$$,
    epochs => 1, validation_share => 0);
SELECT pg_read_file(:'trainmodels' || '/cls-int/config.json')::json -> 'id2label' AS id2label;
SELECT bert_sentiment('A plot so thin.', 'cls-int') IN ('1', '2', '10') AS label_from_id2label;

-- sentence pairs: (text, text_pair, label)
SELECT epoch, steps FROM bert_finetune('cls-pairs', 'bert-tiny-random-cls',
    $$SELECT a.text, b.text, a.label FROM golden_cls a JOIN golden_cls b ON b.id = (a.id + 1) % 12$$,
    epochs => 1, batch_size => 4, validation_share => 0);

-- an existing head whose labels match is kept even when its id2label is in
-- another order (the NLI model: contradiction, neutral, entailment): after
-- a step too small to move it, every label keeps its score
SELECT epoch FROM bert_finetune('nli-again', 'bert-tiny-random-nli',
    $$SELECT text, (ARRAY['entailment', 'neutral', 'contradiction'])[id % 3 + 1] FROM golden_cls$$,
    epochs => 1, batch_size => 12, learning_rate => 1e-12, validation_share => 0);
SELECT pg_read_file(:'trainmodels' || '/nli-again/config.json')::json -> 'id2label' AS sorted_id2label;
SELECT a.label, abs(a.score - b.score) < 1e-5 AS same_score
FROM bert_sentiment_scores('Not bad, not great.', 'bert-tiny-random-nli') a
JOIN bert_sentiment_scores('Not bad, not great.', 'nli-again') b USING (label)
ORDER BY a.label;

--
-- token classification: words and tags; the first piece of each word is
-- trained on its tag
--
CREATE TABLE ner_rows (words text[], tags text[]);
INSERT INTO ner_rows VALUES
  ('{Angela,Merkel,met,Emmanuel,Macron,in,Paris,.}', '{B-PER,I-PER,O,B-PER,I-PER,O,B-LOC,O}'),
  ('{Microsoft,and,Google,opened,offices,in,London,.}', '{B-ORG,O,B-ORG,O,O,O,B-LOC,O}'),
  ('{Björk,sang,in,Reykjavík,.}', '{B-PER,O,O,B-LOC,O}'),
  ('{Toyota,and,Sony,met,in,Tokyo,.}', '{B-ORG,O,B-ORG,O,O,B-LOC,O}');
CREATE TABLE ner_run AS
SELECT * FROM bert_finetune_tokens('ner-trained', 'bert-tiny-random-ner', 'ner_rows',
                                   epochs => 30, learning_rate => 3e-3, batch_size => 2,
                                   validation_share => 0, dropout => 0);
SELECT count(*) AS epochs, max(steps) AS steps,
       (SELECT train_loss FROM ner_run WHERE epoch = 30) <
       (SELECT train_loss FROM ner_run WHERE epoch = 1) / 4 AS loss_fell_fourfold
FROM ner_run;
SELECT pg_read_file(:'trainmodels' || '/ner-trained/config.json')::json -> 'id2label' AS id2label;
-- a training row comes back with its tags: the argmax at each word's first piece
SELECT string_agg(t.token, ' ' ORDER BY t.position) AS first_pieces,
       string_agg(j -> 'id2label' ->> (SELECT i - 1 FROM unnest(t.logits) WITH ORDINALITY AS u(v, i)
                                       ORDER BY v DESC LIMIT 1)::text, ' ' ORDER BY t.position) AS predicted
FROM bert_token_logits('Angela Merkel met Emmanuel Macron in Paris .', 'ner-trained') t,
     (SELECT pg_read_file(:'trainmodels' || '/ner-trained/config.json')::json AS j) c
WHERE t.token NOT LIKE '##%' AND t.token NOT IN ('[CLS]', '[SEP]');

--
-- token classification from text with character-span entities
-- (bert_finetune_entities): the rows of ner_rows as text and spans.  The
-- text is cut into the words of ner_rows ("Paris." into "Paris" and "."),
-- the spans tag them IOB2, so training is the same run bit for bit
--
CREATE TABLE ner_spans (text text, entities jsonb);
INSERT INTO ner_spans VALUES
  ('Angela Merkel met Emmanuel Macron in Paris.',
   '[{"start": 0, "end": 13, "label": "PER"}, {"start": 18, "end": 33, "label": "PER"}, {"start": 37, "end": 42, "label": "LOC"}]'),
  ('Microsoft and Google opened offices in London.',
   '[{"start": 0, "end": 9, "label": "ORG"}, {"start": 14, "end": 20, "label": "ORG"}, {"start": 39, "end": 45, "label": "LOC"}]'),
  ('Björk sang in Reykjavík.',
   '[{"start": 14, "end": 23, "label": "LOC"}, {"start": 0, "end": 5, "label": "PER"}]'),
  ('Toyota and Sony met in Tokyo.',
   '[{"start": 0, "end": 6, "label": "ORG"}, {"start": 11, "end": 15, "label": "ORG"}, {"start": 23, "end": 28, "label": "LOC"}]');
-- offsets are characters (substr() units), not bytes
SELECT e ->> 'label' AS label, substr(text, (e ->> 'start')::int + 1, (e ->> 'end')::int - (e ->> 'start')::int) AS span
FROM ner_spans, jsonb_array_elements(entities) e WHERE text LIKE 'Bj%';
CREATE TABLE ner_spans_run AS
SELECT * FROM bert_finetune_entities('ner-spans', 'bert-tiny-random-ner', 'ner_spans',
                                     epochs => 30, learning_rate => 3e-3, batch_size => 2,
                                     validation_share => 0, dropout => 0);
SELECT (SELECT array_agg(train_loss ORDER BY epoch) FROM ner_run) =
       (SELECT array_agg(train_loss ORDER BY epoch) FROM ner_spans_run) AS same_losses,
       md5(pg_read_binary_file(:'trainmodels' || '/ner-trained/model.safetensors')) =
       md5(pg_read_binary_file(:'trainmodels' || '/ner-spans/model.safetensors')) AS same_tensors,
       pg_read_file(:'trainmodels' || '/ner-spans/config.json')::jsonb -> 'id2label' AS id2label;
-- with held-out rows and truncation (max_length 6 cuts rows mid-entity)
-- too: every epoch's losses and accuracy equal
SELECT a.epoch, a.train_loss = b.train_loss AS same_train_loss,
       a.validation_loss = b.validation_loss AS same_validation_loss,
       a.validation_accuracy = b.validation_accuracy AS same_accuracy
FROM bert_finetune_tokens('ner-cut-words', 'bert-tiny-random-ner', 'ner_rows', epochs => 2,
                          max_length => 6, validation_share => 0.25, batch_size => 2) a
JOIN bert_finetune_entities('ner-cut-spans', 'bert-tiny-random-ner', 'ner_spans', epochs => 2,
                            max_length => 6, validation_share => 0.25, batch_size => 2) b
  USING (epoch)
ORDER BY epoch;

-- a model overfitted on spans gives the same spans back through bert_ner:
-- entity type and character offsets of every training text (the accented
-- "Café" shifts later offsets by a character, not by a byte)
CREATE TABLE ner_synth (text text, entities jsonb);
INSERT INTO ner_synth VALUES
  ('John Smith lives in Paris.',
   '[{"start": 0, "end": 10, "label": "PER"}, {"start": 20, "end": 25, "label": "LOC"}]'),
  ('Mary Jones works for Google in London.',
   '[{"start": 0, "end": 10, "label": "PER"}, {"start": 21, "end": 27, "label": "ORG"}, {"start": 31, "end": 37, "label": "LOC"}]'),
  ('Café owners in Berlin met Anna Miller.',
   '[{"start": 15, "end": 21, "label": "LOC"}, {"start": 26, "end": 37, "label": "PER"}]'),
  ('Peter Brown flew from Tokyo to Rome with Sony staff.',
   '[{"start": 0, "end": 11, "label": "PER"}, {"start": 22, "end": 27, "label": "LOC"}, {"start": 31, "end": 35, "label": "LOC"}, {"start": 41, "end": 45, "label": "ORG"}]'),
  ('The weather in Madrid was nice.',
   '[{"start": 15, "end": 21, "label": "LOC"}]'),
  ('David Clark joined Apple, then Microsoft.',
   '[{"start": 0, "end": 11, "label": "PER"}, {"start": 19, "end": 24, "label": "ORG"}, {"start": 31, "end": 40, "label": "ORG"}]'),
  ('Nobody came to the party.', '[]'),
  ('Sarah White visited Moscow and Vienna.',
   '[{"start": 0, "end": 11, "label": "PER"}, {"start": 20, "end": 26, "label": "LOC"}, {"start": 31, "end": 37, "label": "LOC"}]');
SELECT count(*) AS epochs FROM bert_finetune_entities('ner-synth', 'bert-tiny-random-ner', 'ner_synth',
    epochs => 40, learning_rate => 5e-3, batch_size => 2, validation_share => 0, dropout => 0);
SELECT pg_read_file(:'trainmodels' || '/ner-synth/config.json')::jsonb -> 'id2label' AS id2label;
SELECT s.text,
       coalesce((SELECT jsonb_agg(jsonb_build_object('start', n.start_char, 'end', n.end_char, 'label', n.label)
                                  ORDER BY n.start_char)
                 FROM bert_ner(s.text, 'ner-synth') n), '[]') = s.entities AS same_spans
FROM ner_synth s;
SELECT entity, label, start_char, end_char, score > 0.5 AS confident
FROM bert_ner('Café owners in Berlin met Anna Miller.', 'ner-synth');

--
-- continued pre-training: documents of several sentences
--
CREATE TABLE docs (body text);
INSERT INTO docs
SELECT string_agg(text, ' ' ORDER BY id)
FROM golden_cls WHERE text <> '' GROUP BY id / 4;
INSERT INTO docs VALUES (E'One line.\nAnother line! And a third? Yes.');
CREATE TABLE pretrain_run AS
SELECT * FROM bert_pretrain('tiny-pretrained', 'bert-tiny-random-pretrain', 'docs',
                            epochs => 8, learning_rate => 2e-3, batch_size => 4,
                            validation_share => 0, dropout => 0);
SELECT count(*) AS epochs, max(steps) AS steps,
       (SELECT train_loss FROM pretrain_run WHERE epoch = 8) <
       (SELECT train_loss FROM pretrain_run WHERE epoch = 1) AS loss_fell
FROM pretrain_run;
SELECT j -> 'architectures' AS architectures, j ? 'id2label' AS has_id2label
FROM (SELECT pg_read_file(:'trainmodels' || '/tiny-pretrained/config.json')::jsonb AS j) s;
-- the decoder is tied: no decoder tensor in the file
SELECT position('cls.predictions.decoder' IN convert_from(substr(pg_read_binary_file(:'trainmodels' || '/tiny-pretrained/model.safetensors'), 9, 4096), 'SQL_ASCII')) = 0 AS decoder_tied;
SELECT count(*) AS predictions FROM bert_fill_mask('The film was a [MASK].', 'tiny-pretrained');
SELECT bert_next_sentence('The film was a delight.', 'I want my two hours back.', 'tiny-pretrained') BETWEEN 0 AND 1 AS nsp_probability;
-- a pre-trained model is a base for fine-tuning
SELECT count(*) AS epochs FROM bert_finetune('cls-from-pretrained', 'tiny-pretrained', 'golden_cls', epochs => 1);

--
-- bad input: an ERROR before training starts, nothing left behind
--
-- options
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', learning_rate => 0);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', learning_rate => -1e-5);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', learning_rate => 'NaN');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', batch_size => 0);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', epochs => 0);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', max_length => 2);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', warmup_ratio => 1.5);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', warmup_steps => -1);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', weight_decay => -0.1);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', adam_beta1 => 1);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', adam_beta2 => -0.5);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', adam_epsilon => 0);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', max_grad_norm => -1);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', dropout => 1);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', validation_share => 1);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', batch_size => 65536);
SELECT * FROM bert_pretrain('x', 'bert-tiny-random-pretrain', 'docs', mlm_probability => 0);
SELECT * FROM bert_finetune(NULL, 'bert-tiny-random-cls', 'golden_cls');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', NULL);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls', shuffle => NULL);
-- the new model's name: the rules of every model name, and not taken
SELECT * FROM bert_finetune('a/b', 'bert-tiny-random-cls', 'golden_cls');
SELECT * FROM bert_finetune('..', 'bert-tiny-random-cls', 'golden_cls');
SELECT * FROM bert_finetune('', 'bert-tiny-random-cls', 'golden_cls');
SELECT * FROM bert_finetune('.bert-training-1', 'bert-tiny-random-cls', 'golden_cls');
SELECT * FROM bert_finetune('cls-golden', 'bert-tiny-random-cls', 'golden_cls');
SELECT * FROM bert_finetune('bert-tiny-random-cls', 'bert-tiny-random-cls', 'golden_cls');
-- the base model: missing, not a model, or unsupported for the task
\set VERBOSITY terse
SELECT * FROM bert_finetune('x', 'no-such-model', 'golden_cls');
\set VERBOSITY default
SELECT * FROM bert_finetune('x', 'cls-golden/config.json', 'golden_cls');
SELECT * FROM bert_pretrain('x', 'distilbert-tiny-random-cls', 'docs');
-- the rows
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'SELECT text, label FROM golden_cls WHERE false');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', $$SELECT text, 'same' FROM golden_cls$$);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', $$SELECT CASE WHEN id = 5 THEN NULL ELSE text END, label FROM golden_cls ORDER BY id$$);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', $$SELECT text, NULLIF(label, 'neutral') AS label FROM golden_cls ORDER BY id$$);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', $$SELECT text, NULL::text, label FROM golden_cls$$);
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'SELECT text FROM golden_cls');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'SELECT id, id, text, label FROM golden_cls');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'no_such_table');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'SELEKT 1');
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', $$INSERT INTO golden_cls VALUES (99, 'x', 'y')$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT '{a,b}'::text[], '{O}'::text[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT '{a,NULL}'::text[], '{O,O}'::text[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT NULL::text[], '{O}'::text[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT '{a,b}'::text[], '{O,O}'::text[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT '{}'::text[], '{}'::text[]$$);
-- words and tags must be text[]: other types are refused, never read as arrays
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT '{a,b}'::text[], '{1,2}'::int[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT 12345678901::int8, '{A}'::text[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT 'a b'::text, '{A}'::text[]$$);
SELECT * FROM bert_finetune_tokens('x', 'bert-tiny-random-ner', $$SELECT '{a,b}'::varchar[], '{A,B}'::name[]$$);
SELECT * FROM bert_pretrain('x', 'bert-tiny-random-pretrain', $$SELECT 'Just one sentence here'$$);
-- text with entities: the columns, NULLs, the shape of each entity, its
-- range, overlaps, and spans that cut words (named in the detail)
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b'::text$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 5, '[]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b'::text, '[]'::json$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT NULL::text, '[]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b'::text, NULL::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '{"start": 0, "end": 1, "label": "PER"}'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '"a"'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[[0, 1, "PER"]]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"end": 1, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0.5, "end": 1, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0, "end": "1", "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0, "end": 1}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0, "end": 1, "label": 3}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0, "end": 1, "label": ""}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0, "end": 1, "label": "O"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": -1, "end": 1, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": -1e30, "end": 1e30, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 0, "end": 1e30, "label": "PER"}]'::jsonb$$);
-- "Björk sang" is 10 characters (11 bytes): end 10 is its end, 11 is past it
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'Björk sang', '[{"start": 6, "end": 10, "label": "V"}, {"start": 0, "end": 11, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[{"start": 1, "end": 1, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'Angela Merkel met', '[{"start": 7, "end": 17, "label": "X"}, {"start": 0, "end": 13, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'Angela Merkel', '[{"start": 2, "end": 13, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'Angela Merkel', '[{"start": 0, "end": 9, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'Angela Merkel', '[{"start": 6, "end": 13, "label": "PER"}]'::jsonb$$);
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'Angela Merkel', '[{"start": 0, "end": 7, "label": "PER"}]'::jsonb$$);
-- "Paris." is two words, "Paris" and "."; "Paris-Nord" three
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'in Paris-Nord.', '[{"start": 3, "end": 8, "label": "LOC"}, {"start": 9, "end": 11, "label": "LOC"}]'::jsonb$$);
-- an empty array is a text without entities; rows without any entity
-- have one label only
SELECT * FROM bert_finetune_entities('x', 'bert-tiny-random-ner', $$SELECT 'a b', '[]'::jsonb$$);
-- writing models is for superusers and members of pg_write_server_files,
-- and the training query runs with the caller's privileges
CREATE ROLE regress_bert_trainer;
SET ROLE regress_bert_trainer;
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls');
RESET ROLE;
GRANT pg_write_server_files TO regress_bert_trainer;
SET ROLE regress_bert_trainer;
SELECT * FROM bert_finetune('x', 'bert-tiny-random-cls', 'golden_cls');
RESET ROLE;
DROP ROLE regress_bert_trainer;
-- nothing was written by the failed calls
SELECT count(*) AS left_behind FROM pg_ls_dir(:'trainmodels') AS n
WHERE n LIKE '.bert-training-%' OR n = 'x';
SELECT count(*) AS running FROM bert_training_progress();
