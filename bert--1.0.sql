/* bert--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bert" to load this file. \quit

-- All model functions are IMMUTABLE so that they can feed generated columns
-- and expression indexes: a stored result must be recomputed (UPDATE ... SET
-- col = DEFAULT, REINDEX) after the model directory's files change.
-- COST is in units of cpu_operator_cost: a forward pass costs about a
-- millisecond, so the planner weighs parallel plans for it.

CREATE FUNCTION bert_sentiment(input text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_sentiment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION bert_sentiment(input text, model text)
RETURNS text
AS 'MODULE_PATHNAME', 'bert_sentiment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_sentiment(text) IS
'Label (config.json id2label) of the highest logit of the sequence classifier named by bert.sentiment_model. Input is truncated to the smallest of bert.max_length and the model''s limits. Errors if no model is configured or the model is not a sequence classifier.';
COMMENT ON FUNCTION bert_sentiment(text, text) IS
'Label (config.json id2label) of the highest logit of sequence classifier MODEL (a sub-directory of bert.model_dir): BertForSequenceClassification or DistilBertForSequenceClassification.';

CREATE FUNCTION bert_sentiment_scores(input text, OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_sentiment_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 2;

CREATE FUNCTION bert_sentiment_scores(input text, model text, OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_sentiment_scores'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 2;

COMMENT ON FUNCTION bert_sentiment_scores(text) IS
'One row per label of bert.sentiment_model, in label-id order: softmax probability of each label (scores sum to 1).';
COMMENT ON FUNCTION bert_sentiment_scores(text, text) IS
'One row per label of sequence classifier MODEL, in label-id order: softmax probability of each label (scores sum to 1).';

CREATE FUNCTION bert_embed(input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION bert_embed(input text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_embed'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_embed(text) IS
'Sentence embedding (hidden_size floats) from bert.embed_model: pooling over all tokens as the model''s 1_Pooling/config.json says (mean if absent), L2-normalised when modules.json lists Normalize (always when there is no modules.json).';
COMMENT ON FUNCTION bert_embed(text, text) IS
'Sentence embedding (hidden_size floats) from MODEL: pooling per 1_Pooling/config.json (mean if absent) over all tokens incl. [CLS]/[SEP], L2-normalised per modules.json (always when absent).';

CREATE FUNCTION bert_tokenize(input text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

CREATE FUNCTION bert_tokenize(input text, model text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'bert_tokenize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION bert_tokenize(text) IS
'WordPiece tokens of the input with the tokenizer of bert.embed_model, [CLS] and [SEP] included, truncated like the model input.';
COMMENT ON FUNCTION bert_tokenize(text, text) IS
'WordPiece tokens of the input with the tokenizer of MODEL, [CLS] and [SEP] included, truncated like the model input.';

CREATE FUNCTION bert_token_ids(input text)
RETURNS integer[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

CREATE FUNCTION bert_token_ids(input text, model text)
RETURNS integer[]
AS 'MODULE_PATHNAME', 'bert_token_ids'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100;

COMMENT ON FUNCTION bert_token_ids(text) IS
'input_ids of the input with the tokenizer of bert.embed_model ([CLS] ... [SEP]), as Hugging Face''s tokenizer returns them.';
COMMENT ON FUNCTION bert_token_ids(text, text) IS
'input_ids of the input with the tokenizer of MODEL ([CLS] ... [SEP]), as Hugging Face''s tokenizer returns them.';

CREATE FUNCTION bert_cosine_similarity(a real[], b real[])
RETURNS real
AS 'MODULE_PATHNAME', 'bert_cosine_similarity'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION bert_cosine_similarity(real[], real[]) IS
'Cosine similarity a.b / (|a| |b|) of two vectors of the same length (error otherwise); NaN if either is all zeros.';

CREATE FUNCTION bert_models(
    OUT name text, OUT path text, OUT architecture text,
    OUT num_hidden_layers integer, OUT hidden_size integer,
    OUT num_attention_heads integer, OUT intermediate_size integer,
    OUT vocab_size integer, OUT max_length integer, OUT dtype text,
    OUT pooling text, OUT l2_normalize boolean, OUT labels text[],
    OUT file_bytes bigint, OUT private_bytes bigint, OUT load_ms float8)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_models'
LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;

COMMENT ON FUNCTION bert_models() IS
'Models loaded in this backend, most recently used first: architecture, sizes, effective max_length, storage dtype, pooling, labels, size of model.safetensors (mapped, shared), private_bytes (F16/BF16 weights upcast to F32) and load time in ms.';

CREATE FUNCTION bert_logits(input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION bert_logits(input text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_logits(text) IS
'Raw logits (num_labels floats, label-id order) of the sequence classifier named by bert.sentiment_model.';
COMMENT ON FUNCTION bert_logits(text, text) IS
'Raw logits (num_labels floats, label-id order) of sequence classifier MODEL.';

CREATE FUNCTION bert_last_hidden_state(input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_last_hidden_state'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION bert_last_hidden_state(input text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_last_hidden_state'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_last_hidden_state(text) IS
'Encoder output of every token of the input with bert.embed_model: a 2-D real[] of (tokens incl. [CLS]/[SEP], hidden_size), as Hugging Face last_hidden_state.';
COMMENT ON FUNCTION bert_last_hidden_state(text, text) IS
'Encoder output of every token of the input with MODEL: a 2-D real[] of (tokens incl. [CLS]/[SEP], hidden_size), as Hugging Face last_hidden_state.';

CREATE FUNCTION bert_pooler_output(input text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_pooler_output'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION bert_pooler_output(input text, model text)
RETURNS real[]
AS 'MODULE_PATHNAME', 'bert_pooler_output'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_pooler_output(text) IS
'pooler_output (hidden_size floats) of bert.embed_model: tanh(dense(h_[CLS])), as Hugging Face BertPooler. Errors for models saved without a pooler.';
COMMENT ON FUNCTION bert_pooler_output(text, text) IS
'pooler_output (hidden_size floats) of MODEL: tanh(dense(h_[CLS])), as Hugging Face BertPooler. Errors for models saved without a pooler.';

-- Pre-training and token-level heads

CREATE FUNCTION bert_fill_mask(input text, top_k integer DEFAULT 5,
    OUT "position" integer, OUT token text, OUT token_id integer,
    OUT score real, OUT sequence text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_fill_mask'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 5;

CREATE FUNCTION bert_fill_mask(input text, model text, top_k integer DEFAULT 5,
    OUT "position" integer, OUT token text, OUT token_id integer,
    OUT score real, OUT sequence text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_fill_mask'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 5;

COMMENT ON FUNCTION bert_fill_mask(text, integer) IS
'For every [MASK] in the input (position = its index in input_ids), the top_k tokens by softmax probability of the masked-LM head of bert.fill_mask_model, with the input decoded with that mask filled (Hugging Face fill-mask pipeline). Error if the input has no [MASK].';
COMMENT ON FUNCTION bert_fill_mask(text, text, integer) IS
'For every [MASK] in the input, the top_k tokens by softmax probability of the masked-LM head of MODEL (BertForPreTraining, BertForMaskedLM, DistilBertForMaskedLM), with the filled-in sequence.';

CREATE FUNCTION bert_next_sentence(first text, second text)
RETURNS real
AS 'MODULE_PATHNAME', 'bert_next_sentence'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

CREATE FUNCTION bert_next_sentence(first text, second text, model text)
RETURNS real
AS 'MODULE_PATHNAME', 'bert_next_sentence'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000;

COMMENT ON FUNCTION bert_next_sentence(text, text) IS
'Probability (0..1) that SECOND follows FIRST, from the next-sentence-prediction head of bert.fill_mask_model ([CLS] A [SEP] B [SEP], token_type_ids 0/1, longest-first truncation).';
COMMENT ON FUNCTION bert_next_sentence(text, text, text) IS
'Probability (0..1) that SECOND follows FIRST, from the next-sentence-prediction head of MODEL (BertForPreTraining).';

CREATE FUNCTION bert_ner(input text,
    OUT entity text, OUT label text, OUT score real,
    OUT start_char integer, OUT end_char integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_ner'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 5;

CREATE FUNCTION bert_ner(input text, model text,
    OUT entity text, OUT label text, OUT score real,
    OUT start_char integer, OUT end_char integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_ner'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 5;

COMMENT ON FUNCTION bert_ner(text) IS
'Named entities found by the token classifier bert.ner_model, grouped as Hugging Face''s aggregation_strategy="simple": entity (word pieces joined), label (B-/I- tag removed), mean score, and 0-based character offsets [start_char, end_char) into the input: substr(input, start_char + 1, end_char - start_char) is the entity as written.';
COMMENT ON FUNCTION bert_ner(text, text) IS
'Named entities found by token classifier MODEL (BertForTokenClassification, DistilBertForTokenClassification), grouped as aggregation_strategy="simple", with 0-based character offsets into the input.';

CREATE FUNCTION bert_answer(question text, context text, max_answer_len integer DEFAULT 15,
    OUT answer text, OUT score real, OUT start_char integer, OUT end_char integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_answer'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 1;

CREATE FUNCTION bert_answer(question text, context text, model text, max_answer_len integer DEFAULT 15,
    OUT answer text, OUT score real, OUT start_char integer, OUT end_char integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_answer'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 1;

COMMENT ON FUNCTION bert_answer(text, text, integer) IS
'Answer to QUESTION taken from CONTEXT by bert.qa_model, as Hugging Face''s question-answering pipeline: the span of at most max_answer_len tokens maximising p_start * p_end, over windows of 384 tokens with 128 overlapping; score is that product; offsets are 0-based characters of CONTEXT. Error for an empty context.';
COMMENT ON FUNCTION bert_answer(text, text, text, integer) IS
'Answer to QUESTION taken from CONTEXT by question-answering MODEL (BertForQuestionAnswering, DistilBertForQuestionAnswering), as the Hugging Face question-answering pipeline.';

CREATE FUNCTION bert_token_logits(input text, model text,
    OUT "position" integer, OUT token text, OUT token_type_id integer,
    OUT start_char integer, OUT end_char integer, OUT logits real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 20;

CREATE FUNCTION bert_token_logits(input text, text_pair text, model text,
    OUT "position" integer, OUT token text, OUT token_type_id integer,
    OUT start_char integer, OUT end_char integer, OUT logits real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_token_logits'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 10000 ROWS 20;

COMMENT ON FUNCTION bert_token_logits(text, text) IS
'Every token of [CLS] input [SEP] with its raw logits from MODEL: num_labels per token for a token classifier, [start_logit, end_logit] for a question-answering model; character offsets into the input (NULL for [CLS]/[SEP]).';
COMMENT ON FUNCTION bert_token_logits(text, text, text) IS
'Every token of [CLS] input [SEP] text_pair [SEP] with token_type_id, character offsets into its own text and raw logits from MODEL (token classifier or question answering).';

-- Batched forms: many inputs per call, packed without padding

CREATE FUNCTION bert_embed(inputs text[], OUT ordinality integer, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_embed_batch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 32;

CREATE FUNCTION bert_embed(inputs text[], model text, OUT ordinality integer, OUT embedding real[])
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_embed_batch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 32;

COMMENT ON FUNCTION bert_embed(text[]) IS
'bert_embed of every element of the array with bert.embed_model, in array order (ordinality from 1; NULL element, NULL embedding), computed in packed batches of up to 1,024 tokens: several times faster than one call per row for short texts.';
COMMENT ON FUNCTION bert_embed(text[], text) IS
'bert_embed of every element of the array with MODEL, in array order, computed in packed batches of up to 1,024 tokens.';

CREATE FUNCTION bert_sentiment(inputs text[], OUT ordinality integer, OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_sentiment_batch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 32;

CREATE FUNCTION bert_sentiment(inputs text[], model text, OUT ordinality integer, OUT label text, OUT score real)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bert_sentiment_batch'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE COST 100000 ROWS 32;

COMMENT ON FUNCTION bert_sentiment(text[]) IS
'bert_sentiment of every element of the array with bert.sentiment_model, in array order (ordinality from 1), with the probability of the label, computed in packed batches of up to 1,024 tokens.';
COMMENT ON FUNCTION bert_sentiment(text[], text) IS
'bert_sentiment of every element of the array with MODEL, in array order, with the probability of the label, computed in packed batches.';
