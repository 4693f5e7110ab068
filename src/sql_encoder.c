/*
 * sql_encoder.c
 *		The SQL functions for sentiment, embeddings, tokens, cosine
 *		similarity and model information.
 *
 * Each SQL function works in the per-call memory context fmgr gives it
 * (reset per row by the executor); models and their activation buffers
 * live in the model cache (model_cache.c).  Text arrives in the database
 * encoding and is converted to UTF-8 for the tokenizer; strings going back
 * (tokens, labels) are converted to the database encoding.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "bert.h"
#include "gemm_plan.h"
#include "guc.h"
#include "heads.h"
#include "model.h"
#include "sql_common.h"

/* logits (num_labels) of a sequence classifier for one text. */
static float *
sequence_logits(BertModel *model, text *t, const char *function)
{
	BertInput	input;
	const float *hidden;
	float	   *logits;
	float	   *scratch;

	BertRequireHead(model, BERT_HEAD_SEQUENCE_CLASSIFICATION, function,
					"a sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification)");
	BertEncodeText(model, t, NULL, &input);
	hidden = BertForward(model, &input);
	logits = palloc(sizeof(float) * model->config.num_labels);
	scratch = palloc(sizeof(float) * model->config.hidden_size);
	BertSequenceLogits(logits, scratch, &model->config, &model->weights, hidden);
	BertMappingCheck(model);
	return logits;
}

/*
 * bert_sentiment(text [, model]) -> text
 * The id2label label of the highest logit of a sequence classifier
 * (Hugging Face pipeline("text-classification") with top_k=1).
 */
PG_FUNCTION_INFO_V1(bert_sentiment);
Datum
bert_sentiment(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_sentiment_model, "bert.sentiment_model");
	float	   *logits = sequence_logits(model, PG_GETARG_TEXT_PP(0), "bert_sentiment");

	PG_RETURN_TEXT_P(BertLabelText(model, logits));
}

/*
 * bert_sentiment_scores(text [, model]) -> TABLE(label text, score real)
 * The probability of every label, in label-id order: softmax of the logits,
 * or the sigmoid of a single-label model's logit, as Hugging Face's
 * text-classification pipeline.
 */
PG_FUNCTION_INFO_V1(bert_sentiment_scores);
Datum
bert_sentiment_scores(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_sentiment_model, "bert.sentiment_model");
	float	   *logits = sequence_logits(model, PG_GETARG_TEXT_PP(0),
											 "bert_sentiment_scores");
	BertRows	rows;

	BertRowsBegin(fcinfo, &rows);
	BertLabelProbabilities(logits, model->config.num_labels);
	for (int i = 0; i < model->config.num_labels; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		const char *label = model->config.id2label[i];

		BertRowStart(&rows);
		values[0] = PointerGetDatum(BertCStringToText(label));
		values[1] = Float4GetDatum(logits[i]);
		BertRowPut(&rows, values, nulls);
	}
	return (Datum) 0;
}

/*
 * bert_embed(text [, model]) -> real[] (hidden_size)
 * Sentence embedding: pooling of last_hidden_state over all tokens ([CLS]
 * and [SEP] included) as the model's 1_Pooling config says (mean without
 * one), then L2 normalisation when modules.json lists Normalize (always
 * without modules.json), as sentence-transformers' encode().
 */
PG_FUNCTION_INFO_V1(bert_embed);
Datum
bert_embed(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	ArrayType  *embedding;

	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	embedding = BertSentenceEmbedding(model, BertForward(model, &input), input.len);
	BertMappingCheck(model);
	PG_RETURN_ARRAYTYPE_P(embedding);
}

/*
 * bert_last_hidden_state(text [, model]) -> real[][] (tokens, hidden_size)
 * The encoder output of every token, [CLS] and [SEP] included, as Hugging
 * Face's BaseModelOutput.last_hidden_state (one sequence, no padding).
 */
PG_FUNCTION_INFO_V1(bert_last_hidden_state);
Datum
bert_last_hidden_state(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	const float *hidden;
	int			h = model->config.hidden_size;
	size_t		n;
	Datum	   *elems;
	int			dims[2];
	int			lbs[2] = {1, 1};

	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	hidden = BertForward(model, &input);
	BertMappingCheck(model);
	n = (size_t) input.len * h;
	elems = palloc(sizeof(Datum) * n);
	for (size_t i = 0; i < n; i++)
		elems[i] = Float4GetDatum(hidden[i]);
	dims[0] = input.len;
	dims[1] = h;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(elems, NULL, 2, dims, lbs,
											 FLOAT4OID, sizeof(float4), true,
											 TYPALIGN_INT));
}

/*
 * bert_pooler_output(text [, model]) -> real[] (hidden_size)
 * tanh(W h_[CLS] + b), BertPooler; for BERT models saved with a pooler.
 */
PG_FUNCTION_INFO_V1(bert_pooler_output);
Datum
bert_pooler_output(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	const float *hidden;
	float	   *pooled = palloc(sizeof(float) * model->config.hidden_size);

	if (model->weights.pooler_w == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("model \"%s\" has no pooler", model->name),
				 errdetail("Its model.safetensors has no pooler.dense tensors."),
				 errhint("Use bert_embed() for a sentence embedding.")));
	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	hidden = BertForward(model, &input);
	BertPoolerOutput(pooled, &model->config, &model->weights, hidden);
	BertMappingCheck(model);
	PG_RETURN_ARRAYTYPE_P(BertFloatArray(pooled, model->config.hidden_size));
}

/*
 * bert_logits(text [, model]) -> real[] (num_labels)
 * Raw logits of a sequence classifier, in label-id order.
 */
PG_FUNCTION_INFO_V1(bert_logits);
Datum
bert_logits(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_sentiment_model, "bert.sentiment_model");
	float	   *logits = sequence_logits(model, PG_GETARG_TEXT_PP(0), "bert_logits");

	PG_RETURN_ARRAYTYPE_P(BertFloatArray(logits, model->config.num_labels));
}

/*
 * The input_ids of argument 0 (with [CLS] and [SEP], cut at the model's
 * limit) under the model of argument 1 or bert.embed_model: as token
 * texts (text[]) or as ids (int[]).
 */
static ArrayType *
input_tokens(FunctionCallInfo fcinfo, bool as_text)
{
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	Datum	   *elems;

	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	elems = palloc(sizeof(Datum) * Max(input.len, 1));
	for (int i = 0; i < input.len; i++)
		elems[i] = as_text
			? PointerGetDatum(BertCStringToText(BertTokenText(&model->tokenizer,
															  input.input_ids[i])))
			: Int32GetDatum(input.input_ids[i]);
	if (as_text)
		return construct_array(elems, input.len, TEXTOID, -1, false, TYPALIGN_INT);
	return construct_array(elems, input.len, INT4OID, 4, true, TYPALIGN_INT);
}

/*
 * bert_tokenize(text [, model]) -> text[]
 * The WordPiece tokens of the input, [CLS] and [SEP] included.
 */
PG_FUNCTION_INFO_V1(bert_tokenize);
Datum
bert_tokenize(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(input_tokens(fcinfo, true));
}

/*
 * bert_token_ids(text [, model]) -> int[]
 * input_ids of the input, [CLS] and [SEP] included.
 */
PG_FUNCTION_INFO_V1(bert_token_ids);
Datum
bert_token_ids(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(input_tokens(fcinfo, false));
}

/* The float4 elements of a one-dimensional real[] without NULLs. */
static float4 *
float_array_values(ArrayType *a, int *n, const char *argname)
{
	if (ARR_NDIM(a) > 1 || ARR_HASNULL(a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional real[] without NULLs", argname)));
	*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	return (float4 *) ARR_DATA_PTR(a);
}

/*
 * bert_cosine_similarity(real[], real[]) -> real
 * a.b / (|a| |b|), in double precision; NaN when either vector is zero.
 */
PG_FUNCTION_INFO_V1(bert_cosine_similarity);
Datum
bert_cosine_similarity(PG_FUNCTION_ARGS)
{
	int			na,
				nb;
	float4	   *a = float_array_values(PG_GETARG_ARRAYTYPE_P(0), &na, "the first argument");
	float4	   *b = float_array_values(PG_GETARG_ARRAYTYPE_P(1), &nb, "the second argument");
	double		dot = 0.0,
				norm_a = 0.0,
				norm_b = 0.0;

	if (na != nb)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("vectors have different lengths: %d and %d", na, nb),
				 errdetail("Cosine similarity compares vectors of the same dimension."),
				 errhint("Compare embeddings made by the same model.")));
	for (int i = 0; i < na; i++)
	{
		dot += (double) a[i] * b[i];
		norm_a += (double) a[i] * a[i];
		norm_b += (double) b[i] * b[i];
	}
	PG_RETURN_FLOAT4((float4) (dot / sqrt(norm_a * norm_b)));
}

static const char *const pooling_names[] = {"mean", "cls", "max"};
static const char *const weights_copy_names[] = {"model file", "shared cache", "private copy"};

/*
 * bert_models() -> TABLE(...)
 * The models loaded in this backend, most recently used first.
 */
PG_FUNCTION_INFO_V1(bert_models);
Datum
bert_models(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BertModel  *models[64];
	int			n = BertCachedModels(models, lengthof(models));

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		const BertConfig *cfg = &models[i]->config;
		Datum		values[20];
		bool		nulls[20] = {0};
		int			c = 0;

		values[c++] = CStringGetTextDatum(models[i]->name);
		values[c++] = CStringGetTextDatum(models[i]->path);
		values[c++] = CStringGetTextDatum(cfg->architecture);
		values[c++] = Int32GetDatum(cfg->num_hidden_layers);
		values[c++] = Int32GetDatum(cfg->hidden_size);
		values[c++] = Int32GetDatum(cfg->num_attention_heads);
		values[c++] = Int32GetDatum(cfg->intermediate_size);
		values[c++] = Int32GetDatum(cfg->vocab_size);
		values[c++] = Int32GetDatum(BertMaxLength(models[i]));
		values[c++] = CStringGetTextDatum(cfg->dtype);
		values[c++] = CStringGetTextDatum(pooling_names[cfg->pooling]);
		values[c++] = BoolGetDatum(cfg->normalize);
		if (cfg->num_labels > 0)
		{
			Datum	   *labels = palloc(sizeof(Datum) * cfg->num_labels);

			for (int j = 0; j < cfg->num_labels; j++)
				labels[j] = PointerGetDatum(BertCStringToText(cfg->id2label[j]));
			values[c++] = PointerGetDatum(construct_array(labels, cfg->num_labels,
														  TEXTOID, -1, false,
														  TYPALIGN_INT));
		}
		else
			nulls[c++] = true;
		values[c++] = Int64GetDatum((int64) models[i]->file_bytes);
		values[c++] = Int64GetDatum((int64) models[i]->converted_bytes);
		values[c++] = Float8GetDatum(models[i]->load_ms);
		/* 1.1: the prepared copy (weight_cache.c) and the product plan */
		values[c++] = CStringGetTextDatum(weights_copy_names[models[i]->weights_copy]);
		values[c++] = Int64GetDatum((int64) models[i]->shared_bytes);
		if (models[i]->cache_file)
			values[c++] = CStringGetTextDatum(models[i]->cache_file);
		else
			nulls[c++] = true;
		values[c++] = CStringGetTextDatum(BertGemmPlanDescribe(models[i]->weights.gemm_plan));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
