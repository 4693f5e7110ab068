/*
 * sql_arrays.c
 *		The text[] forms of bert_embed and bert_sentiment: many inputs per
 *		call, packed into forward passes.
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
#include "guc.h"
#include "heads.h"
#include "model.h"
#include "sql_common.h"

/*
 * Batched forms.  The array is read element by element; the non-NULL
 * elements are encoded and packed without padding into forward passes of at
 * most BERT_BATCH_TOKENS token rows (an input longer than that gets a pass
 * of its own), and the rows of each pass are stored as soon as it has run.
 * So the memory of a call is that of one pass (its inputs live in a context
 * reset after every pass), whatever the length of the array.
 */
#define BERT_BATCH_MAX_ELEMENTS 1024	/* elements (NULLs too) per pass */

/*
 * Fills values[1..] of the row of one non-NULL element from its hidden
 * states (len, hidden_size); runs in the row's memory context.
 */
typedef void (*BatchRow) (const BertModel *model, const float *hidden,
						  int len, Datum *values);

/* The elements of the pass being gathered. */
typedef struct BatchPass
{
	int			n;				/* elements, NULLs included */
	bool		isnull[BERT_BATCH_MAX_ELEMENTS];
	BertInput	inputs[BERT_BATCH_MAX_ELEMENTS];	/* non-NULL ones */
	int			num_seqs;
	int			rows;			/* token rows of the non-NULL elements */
} BatchPass;

/* Where the rows of a pass go, and the next element to store. */
typedef struct BatchTarget
{
	BertModel  *model;
	const BatchPass *pass;
	BatchRow	row;
	BertRows   *rows;
	int			ncolumns;
	int			ordinality;		/* of the pass's first element */
	int			next;			/* element stored next */
} BatchTarget;

/*
 * Stores the row of element t->next: from its hidden states (len,
 * hidden_size), or NULL columns when hidden is NULL (a NULL element).
 */
static void
batch_put(BatchTarget *t, const float *hidden, int len)
{
	Datum		values[3] = {Int32GetDatum(t->ordinality + t->next), 0, 0};
	bool		nulls[3] = {false, false, false};

	BertRowStart(t->rows);
	if (hidden == NULL)
	{
		for (int c = 1; c < t->ncolumns; c++)
			nulls[c] = true;
	}
	else
		t->row(t->model, hidden, len, values);
	BertRowPut(t->rows, values, nulls);
	t->next++;
}

/* BertForwardBatched's emit: the NULL elements before this one, then it. */
static void
batch_emit(void *arg, pg_attribute_unused() int index, const float *hidden,
		   int len)
{
	BatchTarget *t = (BatchTarget *) arg;

	while (t->pass->isnull[t->next])
		batch_put(t, NULL, 0);
	batch_put(t, hidden, len);
}

/*
 * Runs the gathered elements through the encoder (one pass: run_batched
 * stops gathering at BERT_BATCH_TOKENS rows, as BertForwardBatched packs)
 * and stores their rows, in array order; `ordinality` is that of the first
 * element.
 */
static void
batch_flush(BertModel *model, BatchPass *pass, int ordinality, BatchRow row,
			BertRows *rows, int ncolumns)
{
	BatchTarget target = {model, pass, row, rows, ncolumns, ordinality, 0};

	BertForwardBatched(model, pass->inputs, pass->num_seqs, batch_emit, &target);
	while (target.next < pass->n)
		batch_put(&target, NULL, 0);
	pass->n = 0;
	pass->num_seqs = 0;
	pass->rows = 0;
}

/* A copy of an input's ids and token types in the current context. */
static void
copy_input(BertInput *dst, const BertInput *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->len = src->len;
	dst->input_ids = palloc(sizeof(int32) * src->len);
	dst->token_type_ids = palloc(sizeof(int32) * src->len);
	memcpy(dst->input_ids, src->input_ids, sizeof(int32) * src->len);
	memcpy(dst->token_type_ids, src->token_type_ids, sizeof(int32) * src->len);
}

/*
 * The body of a batched function: rows (ordinality, result columns) for every
 * element of the text[] argument, in array order; a NULL element gives NULL
 * columns.  `ncolumns` counts the ordinality column.
 */
static void
run_batched(FunctionCallInfo fcinfo, BertModel *model, BatchRow row,
			int ncolumns)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	MemoryContext pass_context;
	MemoryContext element_context;
	BatchPass  *pass = palloc(sizeof(BatchPass));
	ArrayIterator it;
	BertRows	rows;
	Datum		value;
	bool		isnull;
	int			ordinality = 1; /* of the first element of the pass */

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the input must be a one-dimensional text[]")));
	BertRowsBegin(fcinfo, &rows);
	/* the inputs of the pass; one element's encoding scratch */
	pass_context = AllocSetContextCreate(CurrentMemoryContext, "bert batch",
										 ALLOCSET_DEFAULT_SIZES);
	element_context = AllocSetContextCreate(CurrentMemoryContext, "bert batch element",
											ALLOCSET_DEFAULT_SIZES);
	pass->n = pass->num_seqs = pass->rows = 0;
	it = array_create_iterator(array, 0, NULL);
	while (array_iterate(it, &value, &isnull))
	{
		BertInput	input;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (!isnull)
		{
			old = MemoryContextSwitchTo(element_context);
			BertEncodeText(model, DatumGetTextPP(value), NULL, &input);
			MemoryContextSwitchTo(old);
		}
		/* a full pass runs before this element joins the next one */
		if (pass->n == BERT_BATCH_MAX_ELEMENTS ||
			(!isnull && pass->num_seqs > 0 &&
			 pass->rows + input.len > BERT_BATCH_TOKENS))
		{
			int			n = pass->n;

			old = MemoryContextSwitchTo(pass_context);
			batch_flush(model, pass, ordinality, row, &rows, ncolumns);
			MemoryContextSwitchTo(old);
			MemoryContextReset(pass_context);
			ordinality += n;
		}
		pass->isnull[pass->n++] = isnull;
		if (!isnull)
		{
			old = MemoryContextSwitchTo(pass_context);
			copy_input(&pass->inputs[pass->num_seqs], &input);
			MemoryContextSwitchTo(old);
			MemoryContextReset(element_context);
			pass->num_seqs++;
			pass->rows += input.len;
		}
	}
	if (pass->n > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(pass_context);

		batch_flush(model, pass, ordinality, row, &rows, ncolumns);
		MemoryContextSwitchTo(old);
	}
	array_free_iterator(it);
	MemoryContextDelete(pass_context);
	MemoryContextDelete(element_context);
}

/* values[1]: the sentence embedding of one element. */
static void
row_embedding(const BertModel *model, const float *hidden, int len,
			  Datum *values)
{
	values[1] = PointerGetDatum(BertSentenceEmbedding(model, hidden, len));
}

/*
 * bert_embed(text[] [, model]) -> TABLE(ordinality int, embedding real[])
 * bert_embed of every element, computed in batches: sequences of different
 * lengths are packed without padding into forward passes of up to 1,024
 * tokens, so the matrix products run on many rows at once.  Rows come back
 * in array order; a NULL element gives a NULL embedding.  Memory is that of
 * one pass, whatever the length of the array.
 */
PG_FUNCTION_INFO_V1(bert_embed_batch);
Datum
bert_embed_batch(PG_FUNCTION_ARGS)
{
	run_batched(fcinfo,
				BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_embed_model, "bert.embed_model"),
				row_embedding, 2);
	return (Datum) 0;
}

/* values[1], values[2]: the label of one element and its probability. */
static void
row_label(const BertModel *model, const float *hidden,
		  pg_attribute_unused() int len, Datum *values)
{
	const BertConfig *cfg = &model->config;
	float	   *logits = palloc(sizeof(float) * cfg->num_labels);
	float	   *scratch = palloc(sizeof(float) * cfg->hidden_size);
	int			best;

	BertSequenceLogits(logits, scratch, cfg, &model->weights, hidden);
	BertLabelProbabilities(logits, cfg->num_labels);
	best = BertArgmax(logits, cfg->num_labels);
	values[1] = PointerGetDatum(BertCStringToText(cfg->id2label[best]));
	values[2] = Float4GetDatum(logits[best]);
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
	BertModel  *model = BertModelArg(fcinfo, PG_NARGS() > 1 ? 1 : -1, bert_sentiment_model, "bert.sentiment_model");

	BertRequireHead(model, BERT_HEAD_SEQUENCE_CLASSIFICATION, "bert_sentiment",
					"a sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification)");
	run_batched(fcinfo, model, row_label, 3);
	return (Datum) 0;
}
