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
