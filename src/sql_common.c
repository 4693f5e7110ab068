/*
 * sql_common.c
 *		Helpers shared by the SQL entry points (sql_*.c, batch_funcs.c):
 *		the model argument, text conversion, encoding, forward passes, rows
 *		of set-returning functions, float arrays and labels.
 *
 * Text arrives in the database encoding and is converted to UTF-8 for the
 * tokenizer; strings going back (tokens, labels) are converted to the
 * database encoding.
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
#include "blas.h"
#include "encoder.h"
#include "guc.h"
#include "heads.h"
#include "model.h"
#include "nn_ops.h"
#include "sql_common.h"

/*
 * The model of a call: the one named by text argument `argno`, or, when
 * argno is -1 (the SQL form without a model argument), the one named by
 * the setting whose value is `setting_value` (`setting` is its name, for
 * errors).  The only way SQL functions choose their model.
 */
BertModel *
BertModelArg(FunctionCallInfo fcinfo, int argno, const char *setting_value,
			 const char *setting)
{
	if (argno >= 0)
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

/* A text datum from a NUL-terminated UTF-8 string (a token, a label). */
text *
BertCStringToText(const char *s)
{
	return BertUtf8ToText(s, strlen(s));
}

/* The index of the largest of n >= 1 floats (the first on ties). */
int
BertArgmax(const float *x, int n)
{
	int			best = 0;

	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
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

	if (b)
		BertRequirePairs(model);
	BertEncode(&model->tokenizer, a_utf8, a_len, b_utf8, b_len,
			   BertMaxLength(model), input);
}

/*
 * Raises an ERROR unless the model takes sentence pairs: a pair is encoded
 * with token_type_ids 1 for its second text, which indexes row 1 of
 * token_type_embeddings (type_vocab_size rows).  Transformers' BERT
 * tokenizers build the same ids, and a model with type_vocab_size 1 then
 * fails on them (an index error), so a pair is refused here.  DistilBERT has
 * no token types and takes pairs.  Every function that builds token type 1
 * calls this first; BertEncodeText() does for the pairs it encodes.
 */
void
BertRequirePairs(const BertModel *model)
{
	if (model->weights.token_type_embeddings == NULL ||
		model->config.type_vocab_size >= 2)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("model \"%s\" does not take sentence pairs", model->name),
			 errdetail("The second text of a pair has token type 1, but the model's type_vocab_size is %d.",
					   model->config.type_vocab_size),
			 errhint("Pass a model trained on sentence pairs (type_vocab_size of at least 2).")));
}

/*
 * Text of vocabulary entry `id`; the ids come from the tokenizer or are
 * bounded by its vocabulary, so one outside it is an internal error.
 */
const char *
BertTokenText(const BertTokenizer *tok, int32 id)
{
	const char *token = BertTokenizerToken(tok, id);

	if (token == NULL)
		elog(ERROR, "token id %d is outside the vocabulary of %d tokens",
			 id, tok->vocab_size);
	return token;
}

/* Starts a materialized result with a per-row memory context (sql_common.h). */
void
BertRowsBegin(FunctionCallInfo fcinfo, BertRows *rows)
{
	InitMaterializedSRF(fcinfo, 0);
	rows->rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	rows->call_context = CurrentMemoryContext;
	rows->row_context = AllocSetContextCreate(CurrentMemoryContext,
											  "bert result row",
											  ALLOCSET_DEFAULT_SIZES);
	rows->count = 0;
}

/* Begins one row: checks for cancel, switches into the row context. */
void
BertRowStart(BertRows *rows)
{
	CHECK_FOR_INTERRUPTS();
	MemoryContextSwitchTo(rows->row_context);
}

/* Stores the row (the tuplestore copies it) and frees what built it. */
void
BertRowPut(BertRows *rows, Datum *values, bool *nulls)
{
	tuplestore_putvalues(rows->rsinfo->setResult, rows->rsinfo->setDesc,
						 values, nulls);
	MemoryContextSwitchTo(rows->call_context);
	MemoryContextReset(rows->row_context);
	rows->count++;
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

	/* activations first: the thread check counts what is mapped after it */
	BertActivationsReserve(&model->act, &model->config, input->len);
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

/* The id2label label of the highest of num_labels logits (the first on ties). */
text *
BertLabelText(const BertModel *model, const float *logits)
{
	return BertCStringToText(model->config.id2label[BertArgmax(logits, model->config.num_labels)]);
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
ArrayType *
BertSentenceEmbedding(const BertModel *model, const float *hidden, int len)
{
	int			h = model->config.hidden_size;
	float	   *embedding = palloc(sizeof(float) * h);

	BertPool(embedding, hidden, len, h, model->config.pooling);
	if (model->config.normalize)
		BertL2Normalize(embedding, h);
	return BertFloatArray(embedding, h);
}

/*
 * Runs the encoder over many inputs packed without padding, at most
 * BERT_BATCH_TOKENS token rows per forward pass (BertPackCount), and calls
 * `emit` with the hidden states (len, hidden_size) of every input in order;
 * the hidden states are valid until `emit` returns.
 */
void
BertForwardBatched(BertModel *model, BertInput *inputs, int n,
				   void (*emit) (void *arg, int index, const float *hidden, int len),
				   void *arg)
{
	BertPacked	packed = {0};

	for (int first = 0; first < n;)
	{
		int			count = BertPackCount(inputs + first, n - first, BERT_BATCH_TOKENS);

		BertPackInputs(&packed, inputs + first, count);
		/* activations first: the thread check counts what is mapped after it */
		BertActivationsReserve(&model->act, &model->config, packed.batch.total_tokens);
		BertBlasSetThreads(bert_threads);
		BertEncoderForward(&model->config, &model->weights, &model->act, &packed.batch);
		BertMappingCheck(model);
		for (int i = 0; i < count; i++)
			emit(arg, first + i,
				 model->act.hidden + (size_t) packed.seq_start[i] * model->config.hidden_size,
				 inputs[first + i].len);
		first += count;
	}
}
