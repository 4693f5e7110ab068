/*
 * batch_funcs.c
 *		The functions that batched execution computes, and their evaluation
 *		over the rows of one batch.
 *
 * A batchable function takes one or two texts and optionally a model name,
 * is STRICT, and returns one value per row computed from the encoder output
 * of one sequence ([CLS] A [SEP] or [CLS] A [SEP] B [SEP]).  The table below
 * lists them; a function is identified in plans by the OIDs of its SQL
 * forms in the extension's schema, looked up once per backend and again
 * after any pg_proc change (a syscache callback).  A form is used only if
 * it still is the C function of that name, STRICT, not set-returning,
 * without SECURITY DEFINER or SET clauses (which fmgr would apply around a
 * call), so a redefined function is simply not batched.
 *
 * Evaluation keeps the per-row function's semantics: the same model lookup
 * (with the same errors, naming the model and setting), the same head
 * check, the same tokenization (BertEncodeText, or for the pair functions
 * of sql_pairs.c the encoding of BertPairLogits), and the result computed
 * from the hidden states by the same code.  Only the forward pass differs: the rows that
 * use one model run packed in passes of up to BERT_BATCH_TOKENS tokens
 * (BertForwardBatched), which changes results by float rounding only.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "batch.h"
#include "guc.h"
#include "heads.h"
#include "model.h"
#include "nn_ops.h"
#include "retrieval.h"
#include "sql_common.h"

/* The per-row functions' head checks and results, one sequence at a time. */

static void
check_sequence_classifier(const BertBatchFunc *func, const BertModel *model)
{
	BertRequireHead(model, BERT_HEAD_SEQUENCE_CLASSIFICATION, func->name,
					"a sequence classifier (BertForSequenceClassification or DistilBertForSequenceClassification)");
}

static void
check_next_sentence(const BertBatchFunc *func, const BertModel *model)
{
	if (model->config.head != BERT_HEAD_PRETRAINING)
		BertRequireHead(model, BERT_HEAD_PRETRAINING, func->name,
						"a next-sentence-prediction head (BertForPreTraining)");
}

/* logits (num_labels) of the sequence classifier */
static float *
classifier_logits(BertModel *model, const float *hidden)
{
	float	   *logits = palloc(sizeof(float) * model->config.num_labels);
	float	   *scratch = palloc(sizeof(float) * model->config.hidden_size);

	BertSequenceLogits(logits, scratch, &model->config, &model->weights, hidden);
	return logits;
}

/* bert_sentiment: the id2label label of the highest logit */
static Datum
result_label(BertModel *model, const float *hidden, pg_attribute_unused() int len)
{
	return PointerGetDatum(BertLabelText(model, classifier_logits(model, hidden)));
}

/* bert_logits: real[] (num_labels) */
static Datum
result_logits(BertModel *model, const float *hidden, pg_attribute_unused() int len)
{
	return PointerGetDatum(BertFloatArray(classifier_logits(model, hidden),
										  model->config.num_labels));
}

/* bert_embed: the pooled, normalised sentence embedding (hidden_size) */
static Datum
result_embedding(BertModel *model, const float *hidden, int len)
{
	return PointerGetDatum(BertSentenceEmbedding(model, hidden, len));
}

/* bert_rerank_score: the cross-encoder's relevance score */
static Datum
result_rerank_score(BertModel *model, const float *hidden, pg_attribute_unused() int len)
{
	return Float4GetDatum(BertCrossEncoderScore(classifier_logits(model, hidden),
												model->config.num_labels));
}

/* bert_next_sentence: softmax probability of "is next" */
static Datum
result_next_sentence(BertModel *model, const float *hidden, pg_attribute_unused() int len)
{
	float		logits[2];
	float	   *scratch = palloc(sizeof(float) * model->config.hidden_size);

	BertNextSentenceLogits(logits, scratch, &model->config, &model->weights, hidden);
	BertSoftmax(logits, 2);
	return Float4GetDatum(logits[0]);
}

/*
 * Every batchable function: a form with a model argument and, where there
 * is a setting, one without.
 */
static const BertBatchFunc batch_funcs[] = {
	{"bert_sentiment", "bert_sentiment", 1, "bert.sentiment_model",
	&bert_sentiment_model, check_sequence_classifier, BertEncodeText, result_label},
	{"bert_logits", "bert_logits", 1, "bert.sentiment_model",
	&bert_sentiment_model, check_sequence_classifier, BertEncodeText, result_logits},
	{"bert_embed", "bert_embed", 1, "bert.embed_model",
	&bert_embed_model, NULL, BertEncodeText, result_embedding},
	{"bert_next_sentence", "bert_next_sentence", 2, "bert.fill_mask_model",
	&bert_fill_mask_model, check_next_sentence, BertEncodeText, result_next_sentence},
	/* sentence pairs (sql_pairs.c): a model argument only */
	{"bert_classify", "bert_classify", 2, NULL, NULL,
	check_sequence_classifier, BertEncodeText, result_label},
	{"bert_logits", "bert_logits_pair", 2, NULL, NULL,
	check_sequence_classifier, BertEncodeText, result_logits},
	{"bert_rerank_score", "bert_rerank_score", 2, NULL, NULL,
	check_sequence_classifier, BertEncodeText, result_rerank_score},
};

/* The OIDs of the SQL forms found in this database's extension schema. */
typedef struct FuncOid
{
	Oid			oid;
	int			index;			/* into batch_funcs */
	bool		has_model;
} FuncOid;

static FuncOid func_oids[2 * lengthof(batch_funcs)];
static int	num_func_oids = 0;
static bool func_oids_valid = false;

/* Any change to pg_proc (CREATE/DROP EXTENSION included) forgets the OIDs. */
static void
proc_changed(pg_attribute_unused() Datum arg, pg_attribute_unused() int cacheid,
			 pg_attribute_unused() uint32 hashvalue)
{
	func_oids_valid = false;
}

/* Registers the invalidation callback; called once from _PG_init. */
void
BertBatchFuncsInit(void)
{
	CacheRegisterSyscacheCallback(PROCOID, proc_changed, (Datum) 0);
}

/* The schema of the extension (pg_extension.extnamespace), or InvalidOid. */
static Oid
extension_schema(Oid extension)
{
	Relation	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			schema = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extension));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		schema = ((Form_pg_extension) GETSTRUCT(tuple))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return schema;
}

/* True if the pg_proc row is still the C function batch_funcs describes. */
static bool
is_our_function(HeapTuple tuple, const BertBatchFunc *func)
{
	Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tuple);
	Datum		prosrc;
	bool		isnull;
	bool		same;
	char	   *src;

	if (proc->prolang != ClanguageId || !proc->proisstrict || proc->proretset ||
		proc->prosecdef || !heap_attisnull(tuple, Anum_pg_proc_proconfig, NULL))
		return false;
	prosrc = SysCacheGetAttr(PROCOID, tuple, Anum_pg_proc_prosrc, &isnull);
	if (isnull)
		return false;
	src = TextDatumGetCString(prosrc);
	same = (strcmp(src, func->symbol) == 0);
	pfree(src);
	return same;
}

/* Looks up the OIDs of every form of every function of the table. */
static void
lookup_func_oids(void)
{
	Oid			extension = get_extension_oid("bert", true);
	Oid			schema = OidIsValid(extension) ? extension_schema(extension) : InvalidOid;
	Oid			argtypes[BERT_BATCH_MAX_ARGS];

	num_func_oids = 0;
	for (int i = 0; i < BERT_BATCH_MAX_ARGS; i++)
		argtypes[i] = TEXTOID;
	for (int i = 0; OidIsValid(schema) && i < (int) lengthof(batch_funcs); i++)
		for (int has_model = batch_funcs[i].setting ? 0 : 1; has_model <= 1; has_model++)
		{
			oidvector  *signature = buildoidvector(argtypes,
												   batch_funcs[i].ntexts + has_model);
			HeapTuple	tuple = SearchSysCache3(PROCNAMEARGSNSP,
												CStringGetDatum(batch_funcs[i].name),
												PointerGetDatum(signature),
												ObjectIdGetDatum(schema));

			if (!HeapTupleIsValid(tuple))
				continue;
			if (is_our_function(tuple, &batch_funcs[i]))
			{
				FuncOid    *f = &func_oids[num_func_oids++];

				f->oid = ((Form_pg_proc) GETSTRUCT(tuple))->oid;
				f->index = i;
				f->has_model = (has_model == 1);
			}
			ReleaseSysCache(tuple);
		}
	func_oids_valid = true;
}

/* True if this database has any batchable function (the extension exists). */
bool
BertBatchFuncsPresent(void)
{
	if (!func_oids_valid)
		lookup_func_oids();
	return num_func_oids > 0;
}

/*
 * True if funcid is a batchable function's form; sets its table index and
 * whether its last argument is the model.
 */
bool
BertBatchFuncFind(Oid funcid, int *index, bool *has_model)
{
	if (!func_oids_valid)
		lookup_func_oids();
	for (int i = 0; i < num_func_oids; i++)
		if (func_oids[i].oid == funcid)
		{
			*index = func_oids[i].index;
			*has_model = func_oids[i].has_model;
			return true;
		}
	return false;
}

/* The table entry `index` (from BertBatchFuncFind); ERROR if out of range. */
const BertBatchFunc *
BertBatchFuncGet(int index)
{
	if (index < 0 || index >= (int) lengthof(batch_funcs))
		elog(ERROR, "invalid batched function %d", index);
	return &batch_funcs[index];
}

/*
 * The model name of one row whose arguments are all non-NULL: the model
 * argument, or the setting as it is now (what the per-row call reads).
 * Palloc'd in the current memory context.
 */
char *
BertBatchModelName(const BertBatchCall *call, const Datum *args)
{
	const char *setting;

	if (call->has_model)
		return text_to_cstring(DatumGetTextPP(args[call->func->ntexts]));
	setting = *call->func->setting_value;
	return pstrdup(setting ? setting : "");
}

/*
 * Tokenizes one row's texts as the per-row call does; the token arrays are
 * copied into the current memory context, everything else (detoasted and
 * converted text) is left in row_context and freed.
 */
static void
encode_row(const BertModel *model, const BertBatchCall *call, const Datum *args,
		   BertInput *out, MemoryContext row_context)
{
	MemoryContext batch_context = MemoryContextSwitchTo(row_context);
	BertInput	input;
	text	   *a = DatumGetTextPP(args[0]);
	text	   *b = call->func->ntexts == 2 ? DatumGetTextPP(args[1]) : NULL;

	call->func->encode(model, a, b, &input);
	MemoryContextSwitchTo(batch_context);
	*out = input;
	out->input_ids = palloc(sizeof(int32) * Max(input.len, 1));
	out->token_type_ids = palloc(sizeof(int32) * Max(input.len, 1));
	memcpy(out->input_ids, input.input_ids, sizeof(int32) * input.len);
	memcpy(out->token_type_ids, input.token_type_ids, sizeof(int32) * input.len);
	out->start = out->end = NULL;	/* not needed by the forward pass */
	MemoryContextReset(row_context);
}

/* Where BertForwardBatched's outputs go: row index[k] of the call. */
typedef struct EmitTarget
{
	BertBatchCall *call;
	BertModel  *model;
	const int  *index;
} EmitTarget;

static void
emit_result(void *arg, int k, const float *hidden, int len)
{
	EmitTarget *target = arg;
	int			row = target->index[k];

	target->call->values[row] = target->call->func->result(target->model, hidden, len);
	target->call->nulls[row] = false;
}

/*
 * Computes call->values / call->nulls for every row of the batch, in the
 * current memory context (results live there).  Rows with a NULL model name
 * are NULL.  The others are taken model by model, in the order the models
 * first appear: one lookup (the per-row call's errors), the head check,
 * every row of that model tokenized in row order, then packed forward
 * passes.  No other model is looked up while a model's rows are pending,
 * so the model cache cannot drop it under them.
 */
void
BertBatchEvaluate(BertBatchCall *call, MemoryContext row_context)
{
	int			n = call->n;
	bool	   *done = palloc0(sizeof(bool) * Max(n, 1));
	BertInput  *inputs = palloc(sizeof(BertInput) * Max(n, 1));
	int		   *index = palloc(sizeof(int) * Max(n, 1));

	for (int r = 0; r < n; r++)
	{
		call->nulls[r] = true;
		call->values[r] = (Datum) 0;
		done[r] = (call->model[r] == NULL);
	}
	for (int r = 0; r < n; r++)
	{
		BertModel  *model;
		EmitTarget	target;
		int			count = 0;

		if (done[r])
			continue;
		model = BertGetModel(call->model[r], call->has_model ? NULL : call->func->setting);
		if (call->func->check)
			call->func->check(call->func, model);
		for (int s = r; s < n; s++)
		{
			if (done[s] || strcmp(call->model[s], call->model[r]) != 0)
				continue;
			CHECK_FOR_INTERRUPTS();
			encode_row(model, call, &call->args[s * call->nargs], &inputs[count],
					   row_context);
			index[count++] = s;
			done[s] = true;
		}
		target.call = call;
		target.model = model;
		target.index = index;
		BertForwardBatched(model, inputs, count, emit_result, &target);
		BertMappingCheck(model);
	}
}
