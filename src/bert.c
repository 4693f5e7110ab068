/*
 * bert.c
 *		Module entry point and the SQL functions for sentiment, embeddings,
 *		tokens and model information.
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
#include "utils/array.h"
#include "utils/builtins.h"

#include "bert.h"
#include "bert_sql.h"
#include "gemm_plan.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Defines the settings; OpenBLAS is opened later, on first use. */
void
_PG_init(void)
{
	BertGucInit();
}

/*
 * The model named by argument `argno` if the function has it, else by the
 * setting (`setting` is its name, for errors).
 */
BertModel *
BertModelFromArgs(FunctionCallInfo fcinfo, int argno, const char *setting_value,
				  const char *setting)
{
	if (PG_NARGS() > argno)
		return BertGetModel(text_to_cstring(PG_GETARG_TEXT_PP(argno)), NULL);
	return BertGetModel(setting_value, setting);
}

/*
 * The UTF-8 bytes of a text argument.  In a SQL_ASCII database nothing
 * guarantees valid UTF-8, so it is verified (ERROR on invalid bytes).
 */
char *
BertTextToUtf8(text *t, size_t *len)
{
	char	   *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	char	   *utf8;

	if (GetDatabaseEncoding() == PG_SQL_ASCII)
	{
		(void) pg_verify_mbstr(PG_UTF8, s, n, false);
		utf8 = s;
	}
	else
		utf8 = pg_server_to_any(s, n, PG_UTF8);
	*len = (utf8 == s) ? (size_t) n : strlen(utf8);
	return utf8;
}

/* A text datum from UTF-8 bytes, converted to the database encoding. */
text *
BertUtf8ToText(const char *s, size_t len)
{
	char	   *server = pg_any_to_server(s, (int) len, PG_UTF8);

	return cstring_to_text_with_len(server, server == s ? (int) len : (int) strlen(server));
}

/* Sequence length limit: bert.max_length and the model's own limits. */
int
BertMaxLength(const BertModel *model)
{
	return Min(bert_max_length, model->config.model_max_length);
}

/*
 * Tokenizes text (and text_pair when b != NULL) into a model input:
 * [CLS] A [SEP] (B [SEP]), truncated to BertMaxLength().
 */
void
BertEncodeText(const BertModel *model, text *a, text *b, BertInput *input)
{
	size_t		a_len,
				b_len = 0;
	char	   *a_utf8 = BertTextToUtf8(a, &a_len);
	char	   *b_utf8 = b ? BertTextToUtf8(b, &b_len) : NULL;

	if (b && model->config.family == BERT_FAMILY_BERT &&
		model->config.type_vocab_size < 2)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" does not take sentence pairs", model->name),
				 errdetail("Its type_vocab_size is %d.", model->config.type_vocab_size)));
	BertEncode(&model->tokenizer, a_utf8, a_len, b_utf8, b_len,
			   BertMaxLength(model), input);
}

/*
 * Runs the encoder on one input; returns last_hidden_state
 * (input->len, hidden_size), valid until the model's next forward pass.
 */
const float *
BertForward(BertModel *model, const BertInput *input)
{
	int			seq_start[2] = {0, input->len};
	BertBatch	batch;

	BertBlasSetThreads(bert_threads);
	batch.num_seqs = 1;
	batch.total_tokens = input->len;
	batch.seq_start = seq_start;
	batch.input_ids = input->input_ids;
	batch.token_type_ids = input->token_type_ids;
	BertEncoderForward(&model->config, &model->weights, &model->act, &batch);
	return model->act.hidden;
}

/* Raises the error for a model whose architecture lacks the needed head. */
void
BertRequireHead(const BertModel *model, BertHeadKind head, const char *function,
				const char *needed)
{
	if (model->config.head == head ||
		(head == BERT_HEAD_MASKED_LM && model->config.head == BERT_HEAD_PRETRAINING))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("model \"%s\" cannot be used by %s()", model->name, function),
			 errdetail("Its architecture is %s; %s() needs %s.",
					   model->config.architecture, function, needed)));
}

/* logits (num_labels) of a sequence classifier for one text. */
static float *
sequence_logits(BertModel *model, text *t, const char *function)
{
	BertInput	input;
	const float *hidden;
	float	   *logits;

	BertRequireHead(model, BERT_HEAD_SEQUENCE_CLASSIFICATION, function,
					"a sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification)");
	BertEncodeText(model, t, NULL, &input);
	hidden = BertForward(model, &input);
	logits = palloc(sizeof(float) * model->config.num_labels);
	BertSequenceLogits(logits, &model->config, &model->weights, hidden);
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
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_sentiment_model, "bert.sentiment_model");
	float	   *logits = sequence_logits(model, PG_GETARG_TEXT_PP(0), "bert_sentiment");
	int			best = 0;
	const char *label;

	for (int i = 1; i < model->config.num_labels; i++)
		if (logits[i] > logits[best])
			best = i;
	label = model->config.id2label[best];
	PG_RETURN_TEXT_P(BertUtf8ToText(label, strlen(label)));
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
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_sentiment_model, "bert.sentiment_model");
	float	   *logits = sequence_logits(model, PG_GETARG_TEXT_PP(0),
											 "bert_sentiment_scores");

	InitMaterializedSRF(fcinfo, 0);
	BertLabelProbabilities(logits, model->config.num_labels);
	for (int i = 0; i < model->config.num_labels; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};
		const char *label = model->config.id2label[i];

		values[0] = PointerGetDatum(BertUtf8ToText(label, strlen(label)));
		values[1] = Float4GetDatum(logits[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Turns n logits into label probabilities in place, as the
 * text-classification pipeline: softmax, or sigmoid when there is one label.
 */
void
BertLabelProbabilities(float *logits, int n)
{
	if (n == 1)
		logits[0] = 1.0f / (1.0f + expf(-logits[0]));
	else
		BertSoftmax(logits, n);
}

/* A real[] of n floats. */
ArrayType *
BertFloatArray(const float *x, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Float4GetDatum(x[i]);
	return construct_array(elems, n, FLOAT4OID, sizeof(float4), true,
						   TYPALIGN_INT);
}

/*
 * The sentence embedding (hidden_size) of one sequence's hidden states
 * (len, hidden_size): pooled, then L2-normalised if the model says so.
 */
static ArrayType *
sentence_embedding(const BertModel *model, const float *hidden, int len)
{
	int			h = model->config.hidden_size;
	float	   *embedding = palloc(sizeof(float) * h);

	BertPool(embedding, hidden, len, h, model->config.pooling);
	if (model->config.normalize)
		BertL2Normalize(embedding, h);
	return BertFloatArray(embedding, h);
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
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	ArrayType  *embedding;

	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	embedding = sentence_embedding(model, BertForward(model, &input), input.len);
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
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_embed_model, "bert.embed_model");
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
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_embed_model, "bert.embed_model");
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
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_sentiment_model, "bert.sentiment_model");
	float	   *logits = sequence_logits(model, PG_GETARG_TEXT_PP(0), "bert_logits");

	PG_RETURN_ARRAYTYPE_P(BertFloatArray(logits, model->config.num_labels));
}

/*
 * bert_tokenize(text [, model]) -> text[]
 * The WordPiece tokens of the input, [CLS] and [SEP] included.
 */
PG_FUNCTION_INFO_V1(bert_tokenize);
Datum
bert_tokenize(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	Datum	   *elems;

	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	elems = palloc(sizeof(Datum) * input.len);
	for (int i = 0; i < input.len; i++)
	{
		const char *token = model->tokenizer.tokens[input.input_ids[i]];

		elems[i] = PointerGetDatum(BertUtf8ToText(token, strlen(token)));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, input.len, TEXTOID, -1, false,
										  TYPALIGN_INT));
}

/*
 * bert_token_ids(text [, model]) -> int[]
 * input_ids of the input, [CLS] and [SEP] included.
 */
PG_FUNCTION_INFO_V1(bert_token_ids);
Datum
bert_token_ids(PG_FUNCTION_ARGS)
{
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_embed_model, "bert.embed_model");
	BertInput	input;
	Datum	   *elems;

	BertEncodeText(model, PG_GETARG_TEXT_PP(0), NULL, &input);
	elems = palloc(sizeof(Datum) * input.len);
	for (int i = 0; i < input.len; i++)
		elems[i] = Int32GetDatum(input.input_ids[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, input.len, INT4OID, 4, true,
										  TYPALIGN_INT));
}

/*
 * Runs the encoder over many inputs packed without padding, at most
 * BERT_BATCH_TOKENS token rows per forward pass, and calls `emit` with the
 * hidden states (len, hidden_size) of every input in order.
 */
#define BERT_BATCH_TOKENS 1024

typedef void (*BatchEmit) (void *arg, int index, const float *hidden, int len);

static void
forward_batched(BertModel *model, BertInput *inputs, int n, BatchEmit emit,
				void *arg)
{
	int		   *seq_start = palloc(sizeof(int) * (n + 1));
	int32	   *ids = NULL;
	int32	   *types = NULL;
	int			first = 0;

	BertBlasSetThreads(bert_threads);
	while (first < n)
	{
		int			last = first;
		int			rows = 0;
		BertBatch	batch;

		/* take inputs while they fit (always at least one) */
		while (last < n && (last == first || rows + inputs[last].len <= BERT_BATCH_TOKENS))
			rows += inputs[last++].len;
		ids = ids ? repalloc(ids, sizeof(int32) * rows) : palloc(sizeof(int32) * rows);
		types = types ? repalloc(types, sizeof(int32) * rows) : palloc(sizeof(int32) * rows);
		rows = 0;
		for (int i = first; i < last; i++)
		{
			seq_start[i - first] = rows;
			memcpy(ids + rows, inputs[i].input_ids, sizeof(int32) * inputs[i].len);
			memcpy(types + rows, inputs[i].token_type_ids, sizeof(int32) * inputs[i].len);
			rows += inputs[i].len;
		}
		seq_start[last - first] = rows;
		batch.num_seqs = last - first;
		batch.total_tokens = rows;
		batch.seq_start = seq_start;
		batch.input_ids = ids;
		batch.token_type_ids = types;
		BertEncoderForward(&model->config, &model->weights, &model->act, &batch);
		for (int i = first; i < last; i++)
			emit(arg, i, model->act.hidden + (size_t) seq_start[i - first] * model->config.hidden_size,
				 inputs[i].len);
		first = last;
	}
}

/* State of a batched SQL call: the inputs and the result columns. */
typedef struct BatchCall
{
	BertModel  *model;
	int			n;				/* array elements */
	bool	   *nulls;			/* (n) NULL elements */
	BertInput  *inputs;			/* (count) the non-NULL elements */
	int		   *index;			/* (count) their positions in the array */
	int			count;
	Datum	   *result;			/* (n) embedding or label per element */
	Datum	   *score;			/* (n) probability of the label */
} BatchCall;

/* Encodes the non-NULL elements of a text[] argument. */
static void
batch_begin(FunctionCallInfo fcinfo, BatchCall *call, BertModel *model)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the input must be a one-dimensional text[]")));
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems,
					  &call->nulls, &call->n);
	call->model = model;
	call->inputs = palloc(sizeof(BertInput) * Max(call->n, 1));
	call->index = palloc(sizeof(int) * Max(call->n, 1));
	call->result = palloc0(sizeof(Datum) * Max(call->n, 1));
	call->score = palloc0(sizeof(Datum) * Max(call->n, 1));
	call->count = 0;
	for (int i = 0; i < call->n; i++)
	{
		if (call->nulls[i])
			continue;
		BertEncodeText(model, DatumGetTextPP(elems[i]), NULL, &call->inputs[call->count]);
		call->index[call->count++] = i;
	}
}

/*
 * Returns the rows (ordinality, result [, score]) in array order; the
 * embedding variant's row type has two columns, so score is not read.
 */
static void
batch_end(FunctionCallInfo fcinfo, BatchCall *call)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < call->n; i++)
	{
		Datum		values[3] = {Int32GetDatum(i + 1), call->result[i], call->score[i]};
		bool		nulls[3] = {false, call->nulls[i], call->nulls[i]};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

static void
emit_embedding(void *arg, int k, const float *hidden, int len)
{
	BatchCall  *call = arg;

	call->result[call->index[k]] =
		PointerGetDatum(sentence_embedding(call->model, hidden, len));
}

/*
 * bert_embed(text[] [, model]) -> TABLE(ordinality int, embedding real[])
 * bert_embed of every element, computed in batches: sequences of different
 * lengths are packed without padding into forward passes of up to 1,024
 * tokens, so the matrix products run on many rows at once.  Rows come back
 * in array order; a NULL element gives a NULL embedding.
 */
PG_FUNCTION_INFO_V1(bert_embed_batch);
Datum
bert_embed_batch(PG_FUNCTION_ARGS)
{
	BatchCall	call;

	batch_begin(fcinfo, &call,
				BertModelFromArgs(fcinfo, 1, bert_embed_model, "bert.embed_model"));
	forward_batched(call.model, call.inputs, call.count, emit_embedding, &call);
	BertMappingCheck(call.model);
	batch_end(fcinfo, &call);
	return (Datum) 0;
}

static void
emit_label(void *arg, int k, const float *hidden, pg_attribute_unused() int len)
{
	BatchCall  *call = arg;
	const BertConfig *cfg = &call->model->config;
	float	   *logits = palloc(sizeof(float) * cfg->num_labels);
	int			best = 0;

	BertSequenceLogits(logits, cfg, &call->model->weights, hidden);
	BertLabelProbabilities(logits, cfg->num_labels);
	for (int i = 1; i < cfg->num_labels; i++)
		if (logits[i] > logits[best])
			best = i;
	call->result[call->index[k]] =
		PointerGetDatum(BertUtf8ToText(cfg->id2label[best], strlen(cfg->id2label[best])));
	call->score[call->index[k]] = Float4GetDatum(logits[best]);
}

/*
 * bert_sentiment(text[] [, model])
 *   -> TABLE(ordinality int, label text, score real)
 * bert_sentiment of every element in packed batches (see bert_embed(text[])),
 * with the softmax probability of the chosen label.
 */
PG_FUNCTION_INFO_V1(bert_sentiment_batch);
Datum
bert_sentiment_batch(PG_FUNCTION_ARGS)
{
	BatchCall	call;
	BertModel  *model = BertModelFromArgs(fcinfo, 1, bert_sentiment_model, "bert.sentiment_model");

	BertRequireHead(model, BERT_HEAD_SEQUENCE_CLASSIFICATION, "bert_sentiment",
					"a sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification)");
	batch_begin(fcinfo, &call, model);
	forward_batched(call.model, call.inputs, call.count, emit_label, &call);
	BertMappingCheck(call.model);
	batch_end(fcinfo, &call);
	return (Datum) 0;
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
				labels[j] = PointerGetDatum(BertUtf8ToText(cfg->id2label[j],
														   strlen(cfg->id2label[j])));
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
