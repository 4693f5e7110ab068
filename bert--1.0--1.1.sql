/* bert--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bert UPDATE TO '1.1'" to load this file. \quit

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
