/* bert--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bert UPDATE TO '1.1'" to load this file. \quit

--
-- Volatility of the forms without a model argument
--
-- These forms take their model from a setting (bert.sentiment_model,
-- bert.embed_model, bert.fill_mask_model, bert.ner_model, bert.qa_model)
-- that any session may change, so their result for the same input is not
-- fixed: they are STABLE, as PostgreSQL's to_tsvector(text), which reads
-- default_text_search_config.  The forms that name their model stay
-- IMMUTABLE, as to_tsvector(regconfig, text): they are the ones generated
-- columns and expression indexes accept.
--
ALTER FUNCTION bert_sentiment(text) STABLE;
ALTER FUNCTION bert_sentiment_scores(text) STABLE;
ALTER FUNCTION bert_logits(text) STABLE;
ALTER FUNCTION bert_embed(text) STABLE;
ALTER FUNCTION bert_last_hidden_state(text) STABLE;
ALTER FUNCTION bert_pooler_output(text) STABLE;
ALTER FUNCTION bert_tokenize(text) STABLE;
ALTER FUNCTION bert_token_ids(text) STABLE;
ALTER FUNCTION bert_fill_mask(text, integer) STABLE;
ALTER FUNCTION bert_next_sentence(text, text) STABLE;
ALTER FUNCTION bert_ner(text) STABLE;
ALTER FUNCTION bert_answer(text, text, integer) STABLE;
ALTER FUNCTION bert_embed(text[]) STABLE;
ALTER FUNCTION bert_sentiment(text[]) STABLE;

--
-- Offsets in the units substr() counts, and the bounds of one call
--
COMMENT ON FUNCTION bert_ner(text) IS
'Named entities found by the token classifier bert.ner_model, grouped as Hugging Face''s aggregation_strategy="simple": entity (word pieces joined), label (B-/I- tag removed), mean score, and 0-based offsets [start_char, end_char) into the input in the units substr() counts (characters; bytes in SQL_ASCII): substr(input, start_char + 1, end_char - start_char) is the entity as written. STABLE: it reads bert.ner_model.';
COMMENT ON FUNCTION bert_ner(text, text) IS
'Named entities found by token classifier MODEL (BertForTokenClassification, DistilBertForTokenClassification), grouped as aggregation_strategy="simple", with 0-based offsets into the input in the units substr() counts (characters; bytes in SQL_ASCII).';
COMMENT ON FUNCTION bert_answer(text, text, integer) IS
'Answer to QUESTION taken from CONTEXT by bert.qa_model, as Hugging Face''s question-answering pipeline: the span of at most max_answer_len tokens maximising p_start * p_end, over windows of 384 tokens sharing 128 (at most 1,041 windows); score is that product; offsets into CONTEXT in the units substr() counts. Error for an empty context, a question that leaves too little room for the context, or a context needing too many windows. STABLE: it reads bert.qa_model.';
COMMENT ON FUNCTION bert_answer(text, text, text, integer) IS
'Answer to QUESTION taken from CONTEXT by question-answering MODEL (BertForQuestionAnswering, DistilBertForQuestionAnswering), as the Hugging Face question-answering pipeline; offsets into CONTEXT in the units substr() counts (characters; bytes in SQL_ASCII).';
COMMENT ON FUNCTION bert_token_logits(text, text) IS
'Every token of [CLS] input [SEP] with its raw logits from MODEL: num_labels per token for a token classifier, [start_logit, end_logit] for a question-answering model; offsets into the input in the units substr() counts (NULL for [CLS]/[SEP]).';
COMMENT ON FUNCTION bert_token_logits(text, text, text) IS
'Every token of [CLS] input [SEP] text_pair [SEP] with token_type_id, offsets into its own text in the units substr() counts and raw logits from MODEL (token classifier or question answering). Pairs need a type_vocab_size of at least 2.';
COMMENT ON FUNCTION bert_fill_mask(text, integer) IS
'For every [MASK] in the input (position = its index in input_ids), the top_k tokens by softmax probability of the masked-LM head of bert.fill_mask_model, with the input decoded with that mask filled (Hugging Face fill-mask pipeline). top_k past the vocabulary is the vocabulary; masks x top_k x input tokens may be at most 16,777,216. Error if the input has no [MASK]. STABLE: it reads bert.fill_mask_model.';
COMMENT ON FUNCTION bert_fill_mask(text, text, integer) IS
'For every [MASK] in the input, the top_k tokens by softmax probability of the masked-LM head of MODEL (BertForPreTraining, BertForMaskedLM, DistilBertForMaskedLM), with the filled-in sequence; masks x top_k x input tokens may be at most 16,777,216.';

-- ----------------------------------------------------------------------
-- Sentence pairs and retrieval: pair classification, cross-encoder
-- reranking, zero-shot classification, chunking (src/sql_pairs.c)
-- ----------------------------------------------------------------------
-- Pairs are encoded [CLS] A [SEP] B [SEP] with token_type_ids 0/1 and
-- truncated longest-first, as bert_next_sentence does.

CREATE FUNCTION bert_classify(input text, text_pair text, model text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_classify'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_classify(text, text, text) IS
'Label (config.json id2label) of the highest logit of sequence classifier MODEL on the pair [CLS] input [SEP] text_pair [SEP] (token_type_ids 0/1, longest-first truncation), as the text-classification pipeline given text and text_pair.';

CREATE FUNCTION bert_classify_scores(input text, text_pair text, model text,
    OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_classify_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 3;

COMMENT ON FUNCTION bert_classify_scores(text, text, text) IS
'One row per label of sequence classifier MODEL for the pair (input, text_pair), in label-id order: softmax probability of each label (the sigmoid of the logit for a one-label model).';

CREATE FUNCTION bert_logits(input text, text_pair text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_logits_pair'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_logits(text, text, text) IS
'Raw logits (num_labels floats, label-id order) of sequence classifier MODEL on the pair [CLS] input [SEP] text_pair [SEP].';

CREATE FUNCTION bert_rerank_score(query text, document text, model text)
RETURNS real
AS 'MODULE_PATHNAME', 'bert_rerank_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_rerank_score(text, text, text) IS
'Relevance (0..1) of DOCUMENT to QUERY by cross-encoder MODEL, as sentence-transformers CrossEncoder.predict: the sigmoid of the logit of a one-label model, else the softmax probability of the last label.';

CREATE FUNCTION bert_rerank(query text, documents text[], model text,
    OUT ordinality integer, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_rerank'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 20;

COMMENT ON FUNCTION bert_rerank(text, text[], text) IS
'bert_rerank_score of QUERY against every element of DOCUMENTS, in array order (ordinality from 1; a NULL document gets a NULL score), all pairs run as one batch packed into forward passes of up to 1,024 tokens. Sort by score to rerank.';

CREATE FUNCTION bert_zero_shot(input text, candidate_labels text[], model text,
    hypothesis_template text DEFAULT 'This example is {}.',
    multi_label boolean DEFAULT false,
    OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_zero_shot'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 5;

COMMENT ON FUNCTION bert_zero_shot(text, text[], text, text, boolean) IS
'Zero-shot classification of INPUT into CANDIDATE_LABELS with NLI MODEL, as the transformers zero-shot-classification pipeline: each label becomes the hypothesis hypothesis_template with {} replaced by it; score = softmax of the entailment logits across the labels, or with multi_label (or one label) softmax of [contradiction, entailment] per label; highest score first. NULL labels are skipped. Error if MODEL has no label named entail*.';

CREATE FUNCTION bert_chunk(input text, max_tokens integer, model text,
    overlap integer DEFAULT 0,
    OUT chunk_no integer, OUT chunk text, OUT start_char integer,
    OUT end_char integer, OUT tokens integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_chunk'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 1000 ROWS 10;

COMMENT ON FUNCTION bert_chunk(text, integer, text, integer) IS
'INPUT cut into chunks of at most max_tokens word pieces of MODEL''s tokenizer ([CLS]/[SEP] not counted), between words (a word longer than max_tokens is cut between pieces), consecutive chunks sharing up to OVERLAP pieces of whole words; chunk is the input at 0-based characters [start_char, end_char), tokens its piece count, chunk_no from 1. max_tokens is 1 to the model''s limit minus 2; overlap 0 to max_tokens - 1.';

-- ----------------------------------------------------------------------
-- Batched execution of plain queries (src/batch_plan.c)
-- ----------------------------------------------------------------------
-- The planner calls a function's support function while it plans a query.
-- This one changes nothing; being C code of the bert library, it makes the
-- planner load the library, whose planner and executor hooks then batch the
-- calls of this very query, even when it is the first of its session.
CREATE FUNCTION bert_batch_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'bert_batch_support'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION bert_batch_support(internal) IS
'Planner support function of the functions that queries evaluate in batches of rows (bert_sentiment, bert_logits, bert_embed, bert_next_sentence, bert_classify, bert_rerank_score): loads the bert library while a query is planned, so that its first statement in a session is batched too; it changes no expression.';

ALTER FUNCTION bert_sentiment(text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_sentiment(text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_logits(text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_logits(text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_embed(text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_embed(text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_next_sentence(text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_next_sentence(text, text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_classify(text, text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_logits(text, text, text) SUPPORT bert_batch_support;
ALTER FUNCTION bert_rerank_score(text, text, text) SUPPORT bert_batch_support;

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

--
-- Shared prepared weights (bert.cache_dir) and the matrix product plan:
-- bert_models() gains the columns weights, shared_bytes, cache_file and
-- gemm_plan.
--
DROP FUNCTION bert_models();

CREATE FUNCTION bert_models(
    OUT name text, OUT path text, OUT architecture text,
    OUT num_hidden_layers integer, OUT hidden_size integer,
    OUT num_attention_heads integer, OUT intermediate_size integer,
    OUT vocab_size integer, OUT max_length integer, OUT dtype text,
    OUT pooling text, OUT l2_normalize boolean, OUT labels text[],
    OUT file_bytes bigint, OUT private_bytes bigint, OUT load_ms float8,
    OUT weights text, OUT shared_bytes bigint, OUT cache_file text,
    OUT gemm_plan text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_models'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION bert_models() IS
'Models loaded in this backend, most recently used first: architecture, sizes, effective max_length, storage dtype, pooling, labels, size of model.safetensors, private_bytes (weights copied into this backend''s memory), load time in ms, weights (where they are read from: ''model file'' for F32 weights in place, ''shared cache'' for the prepared copy in bert.cache_dir, ''private copy''), shared_bytes (weights read from shared mappings), cache_file (the prepared copy, or NULL) and gemm_plan (how the matrix products call OpenBLAS: prior, measured or forced, then per weight shape in x out its layout and the strategy of each row bucket, with GFLOP/s measured).';

-- ----------------------------------------------------------------------
-- Training a token classifier from text with character-span entities
-- (src/train_sql.c, bert_finetune_entities)
-- ----------------------------------------------------------------------
-- The rows are (text, entities jsonb), entities as spaCy and Hugging Face
-- datasets write them: [{"start": 0, "end": 13, "label": "PER"}, ...],
-- offsets in the characters substr() counts (end exclusive), the units of
-- bert_ner's start_char / end_char.  The text is cut into words as the
-- tokenizer's pre-tokenizer cuts it and the words tagged IOB2; training
-- then equals bert_finetune_tokens on those words and tags.
CREATE FUNCTION bert_finetune_entities(
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
AS 'MODULE_PATHNAME', 'bert_finetune_entities'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 3;

COMMENT ON FUNCTION bert_finetune_entities(text, text, text, float8, float8, integer, integer, float8, integer, float8, float8, float8, float8, float8, float8, bigint, boolean, float8, boolean) IS
'Fine-tunes a token classifier (for bert_ner) from text with character-span entities: TRAINING_DATA returns (text, entities jsonb), entities an array of {"start": s, "end": e, "label": "PER"} (character offsets as substr() and bert_ner count them, end exclusive; [] for none). The text is split into words as the tokenizer''s pre-tokenizer splits it (white space, punctuation, CJK characters); a span must start and end on word boundaries and not overlap another. Words are tagged B-<label> (first word of an entity), I-<label> (the others) or O, and trained as bert_finetune_tokens trains words and tags. Same arguments and result as bert_finetune_tokens.';
