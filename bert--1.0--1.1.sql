/* bert--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bert UPDATE TO '1.1'" to load this file. \quit

--
-- Training: fine-tuning and continued pre-training inside the database
--
-- The training functions write model directories into bert.model_dir, so
-- they are VOLATILE PARALLEL UNSAFE and refuse callers who are neither
-- superusers nor members of pg_write_server_files.  Their named arguments
-- default to Hugging Face Trainer's defaults; the training query runs with
-- the caller's privileges.

CREATE FUNCTION bert_finetune(
    model_name text, base_model text, training_data text,
    epochs float8 DEFAULT 3, learning_rate float8 DEFAULT 5e-5,
    batch_size integer DEFAULT 8, max_length integer DEFAULT NULL,
    warmup_ratio float8 DEFAULT 0, warmup_steps integer DEFAULT 0,
    weight_decay float8 DEFAULT 0, adam_beta1 float8 DEFAULT 0.9,
    adam_beta2 float8 DEFAULT 0.999, adam_epsilon float8 DEFAULT 1e-8,
    max_grad_norm float8 DEFAULT 1.0, dropout float8 DEFAULT NULL,
    seed bigint DEFAULT 42, shuffle boolean DEFAULT true,
    validation_share float8 DEFAULT 0.1, replace boolean DEFAULT false,
    OUT epoch integer, OUT steps bigint, OUT train_loss float8,
    OUT validation_loss float8, OUT validation_accuracy float8,
    OUT seconds float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_finetune'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 3;

COMMENT ON FUNCTION bert_finetune(text, text, text, float8, float8, integer, integer, float8, integer, float8, float8, float8, float8, float8, float8, bigint, boolean, float8, boolean) IS
'Fine-tunes a sequence classifier: starts from BASE_MODEL (any BERT or DistilBERT model of bert.model_dir), trains on TRAINING_DATA (a query or table returning (text, label) or (text, text_pair, label); id2label = the distinct labels, sorted) with AdamW, linear warmup and decay and gradient clipping, and writes model MODEL_NAME. One row per epoch: steps so far, mean training loss, validation loss and accuracy on the held-out VALIDATION_SHARE, seconds. Superusers and members of pg_write_server_files only.';

CREATE FUNCTION bert_finetune_tokens(
    model_name text, base_model text, training_data text,
    epochs float8 DEFAULT 3, learning_rate float8 DEFAULT 5e-5,
    batch_size integer DEFAULT 8, max_length integer DEFAULT NULL,
    warmup_ratio float8 DEFAULT 0, warmup_steps integer DEFAULT 0,
    weight_decay float8 DEFAULT 0, adam_beta1 float8 DEFAULT 0.9,
    adam_beta2 float8 DEFAULT 0.999, adam_epsilon float8 DEFAULT 1e-8,
    max_grad_norm float8 DEFAULT 1.0, dropout float8 DEFAULT NULL,
    seed bigint DEFAULT 42, shuffle boolean DEFAULT true,
    validation_share float8 DEFAULT 0.1, replace boolean DEFAULT false,
    OUT epoch integer, OUT steps bigint, OUT train_loss float8,
    OUT validation_loss float8, OUT validation_accuracy float8,
    OUT seconds float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_finetune_tokens'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 3;

COMMENT ON FUNCTION bert_finetune_tokens(text, text, text, float8, float8, integer, integer, float8, integer, float8, float8, float8, float8, float8, float8, bigint, boolean, float8, boolean) IS
'Fine-tunes a token classifier (for bert_ner): TRAINING_DATA returns (words text[], tags text[]); each word''s first word piece is trained on its tag, the other pieces and [CLS]/[SEP] are ignored. Writes a BertForTokenClassification (or DistilBERT) model MODEL_NAME. One row per epoch; validation accuracy is per labelled token.';

CREATE FUNCTION bert_pretrain(
    model_name text, base_model text, training_data text,
    epochs float8 DEFAULT 3, learning_rate float8 DEFAULT 5e-5,
    batch_size integer DEFAULT 8, max_length integer DEFAULT NULL,
    warmup_ratio float8 DEFAULT 0, warmup_steps integer DEFAULT 0,
    weight_decay float8 DEFAULT 0, adam_beta1 float8 DEFAULT 0.9,
    adam_beta2 float8 DEFAULT 0.999, adam_epsilon float8 DEFAULT 1e-8,
    max_grad_norm float8 DEFAULT 1.0, dropout float8 DEFAULT NULL,
    seed bigint DEFAULT 42, shuffle boolean DEFAULT true,
    validation_share float8 DEFAULT 0.1, replace boolean DEFAULT false,
    mlm_probability float8 DEFAULT 0.15,
    OUT epoch integer, OUT steps bigint, OUT train_loss float8,
    OUT validation_loss float8, OUT validation_accuracy float8,
    OUT seconds float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_pretrain'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 3;

COMMENT ON FUNCTION bert_pretrain(text, text, text, float8, float8, integer, integer, float8, integer, float8, float8, float8, float8, float8, float8, bigint, boolean, float8, boolean, float8) IS
'Continues pre-training of a BERT model on TRAINING_DATA (a query or table returning one document text per row; sentences split at line breaks and after . ! ?): masked LM (MLM_PROBABILITY of the tokens; 80% [MASK], 10% random, 10% kept) plus next-sentence prediction (half true next sentence, half random), loss = MLM + NSP. Writes a BertForPreTraining model MODEL_NAME with the decoder tied to the word embeddings. One row per epoch; validation accuracy is that of the masked tokens.';

CREATE FUNCTION bert_training_progress(
    OUT pid integer, OUT function text, OUT model text, OUT base_model text,
    OUT phase text, OUT rows bigint, OUT epoch integer, OUT epochs float8,
    OUT step bigint, OUT total_steps bigint, OUT loss float8,
    OUT rows_per_second float8, OUT seconds_elapsed float8,
    OUT seconds_left float8, OUT memory_bytes bigint, OUT updated timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_training_progress'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1;

COMMENT ON FUNCTION bert_training_progress() IS
'The training runs in progress on this server, one row each, as their sessions last reported them (every 5 seconds): phase (reading rows, training, evaluating, writing), rows read, epoch, step of total_steps, mean training loss of the epoch so far, rows per second, seconds elapsed and left, and the memory the run holds (parameters, gradients and AdamW moments, the activations of the largest batch so far, the tokenized rows).';
