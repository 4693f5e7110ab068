/*
 * batch_exec.c
 *		The BertBatch custom scan: reads a batch of rows from its input,
 *		evaluates the model calls of the whole batch at once, and returns
 *		the rows one at a time with the results as extra columns.
 *
 * The plan (batch_plan.c) gives the node one input (lefttree) and a scan
 * tuple described by custom_scan_tlist: the input's columns, then one
 * column per call.  Its target list either passes the scan tuple through
 * (under an Agg or Result, whose expressions read the call columns) or
 * projects the target list of the scan or join it was lifted from.
 *
 * A batch: up to `target` input rows are copied into minimal-tuple slots;
 * for each row, in row order, each call's arguments are evaluated (all of
 * them, as a STRICT function's arguments are) and copied into the batch
 * context, and the row's model name is read (the model argument, or the
 * setting at that row, as the per-row call reads it).  Then each call runs
 * over the batch (BertBatchEvaluate: model lookup, tokenization, packed
 * forward passes).  The first batch is one row and each next one twice as
 * many, up to BERT_BATCH_MAX_ROWS (or BERT_BATCH_MAX_BYTES of arguments),
 * so LIMIT 1 or a cursor fetching one row computes one row.  A rescan
 * starts again at one row.  With bert.batch_queries off at execution (a
 * plan cached while it was on), every batch is one row.
 *
 * As for a per-row call, the executing user needs EXECUTE on every batched
 * function (checked when the node starts, as ExecInitFunc does), and with
 * track_functions each non-NULL row counts as one call of its function in
 * pg_stat_user_functions (the batch's time goes to its first row).
 *
 * Memory: the batch context holds the copied arguments, the token ids and
 * the results; it is reset when the next batch is read, which happens only
 * when the node above asks for the row after the batch's last, so a row's
 * values stay valid until then.  Tokenizing works in a context reset per
 * row, so a long text is held only while it is tokenized.
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"

#include "batch.h"
#include "guc.h"

/* One call's argument evaluation and its batch. */
typedef struct CallState
{
	BertBatchCall call;
	ExprState  *args[BERT_BATCH_MAX_ARGS];
	FuncExpr   *expr;			/* for EXPLAIN */
	FmgrInfo	flinfo;			/* for pg_stat_user_functions */
	FunctionCallInfo fcinfo;
} CallState;

typedef struct BatchState
{
	CustomScanState css;
	int			ninput;			/* input columns in the scan tuple */
	int			ncalls;
	CallState  *calls;			/* (ncalls) */
	TupleTableSlot **rows;		/* (BERT_BATCH_MAX_ROWS) the batch's input rows */
	int			nrows;			/* rows in the batch */
	int			next;			/* next row to return */
	int			target;			/* rows of the next batch */
	bool		input_done;		/* the input returned its last row */
	ExprContext *arg_context;	/* arguments, reset per call and row */
	MemoryContext batch_context;
	MemoryContext row_context;
	int64		batches;		/* EXPLAIN ANALYZE */
	int			largest;
} BatchState;

static Node *create_batch_state(CustomScan *cscan);
static void begin_batch(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *exec_batch(CustomScanState *node);
static void end_batch(CustomScanState *node);
static void rescan_batch(CustomScanState *node);
static void explain_batch(CustomScanState *node, List *ancestors,
						  ExplainState *es);

static const CustomScanMethods batch_scan_methods = {
	.CustomName = "BertBatch",
	.CreateCustomScanState = create_batch_state,
};

static const CustomExecMethods batch_exec_methods = {
	.CustomName = "BertBatch",
	.BeginCustomScan = begin_batch,
	.ExecCustomScan = exec_batch,
	.EndCustomScan = end_batch,
	.ReScanCustomScan = rescan_batch,
	.ExplainCustomScan = explain_batch,
};

/* Registers the node's methods (plans name them); called from _PG_init. */
void
BertBatchExecInit(void)
{
	RegisterCustomScanMethods(&batch_scan_methods);
}

/* The methods a BertBatch plan node points to. */
const CustomScanMethods *
BertBatchScanMethods(void)
{
	return &batch_scan_methods;
}

static Node *
create_batch_state(pg_attribute_unused() CustomScan *cscan)
{
	BatchState *bs = palloc0(sizeof(BatchState));

	NodeSetTag(bs, T_CustomScanState);
	bs->css.methods = &batch_exec_methods;
	return (Node *) bs;
}

/* The check ExecInitFunc makes before a function may run in a query. */
static void
check_execute(Oid funcid)
{
	AclResult	aclresult = pg_proc_aclcheck(funcid, GetUserId(), ACL_EXECUTE);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, get_func_name(funcid));
	InvokeFunctionExecuteHook(funcid);
}

/*
 * Runs one call over the batch, counted as one call of its function per
 * non-NULL row, as the per-row calls would be.
 */
static void
evaluate_call(CallState *cs, MemoryContext row_context)
{
	PgStat_FunctionCallUsage usage;
	int			calls = 0;

	for (int r = 0; r < cs->call.n; r++)
		calls += (cs->call.model[r] != NULL);
	if (calls > 0)
		pgstat_init_function_usage(cs->fcinfo, &usage);
	BertBatchEvaluate(&cs->call, row_context);
	if (calls > 0)
		pgstat_end_function_usage(&usage, true);
	for (int i = 1; i < calls; i++)
	{
		pgstat_init_function_usage(cs->fcinfo, &usage);
		pgstat_end_function_usage(&usage, true);
	}
}

/* Initializes the input, the argument expressions and the batch buffers. */
static void
begin_batch(CustomScanState *node, EState *estate, int eflags)
{
	BatchState *bs = (BatchState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	PlanState  *input;
	TupleDesc	input_desc;
	ListCell   *lc;
	int			c;

	if (eflags & (EXEC_FLAG_BACKWARD | EXEC_FLAG_MARK))
		elog(ERROR, "BertBatch cannot scan backward or restore a position");
	input = ExecInitNode(outerPlan(cscan), estate, eflags);
	outerPlanState(node) = input;
	input_desc = ExecGetResultType(input);

	/* arguments read the copied rows: minimal tuples of the input's type */
	node->ss.ps.outerops = &TTSOpsMinimalTuple;
	node->ss.ps.outeropsfixed = true;
	node->ss.ps.outeropsset = true;

	bs->ninput = intVal(linitial(cscan->custom_private));
	bs->ncalls = (list_length(cscan->custom_private) - 1) / 2;
	if (bs->ninput != input_desc->natts ||
		list_length(cscan->custom_scan_tlist) != bs->ninput + bs->ncalls)
		elog(ERROR, "BertBatch plan does not match its input");
	bs->rows = palloc(sizeof(TupleTableSlot *) * BERT_BATCH_MAX_ROWS);
	for (int i = 0; i < BERT_BATCH_MAX_ROWS; i++)
		bs->rows[i] = ExecInitExtraTupleSlot(estate, input_desc, &TTSOpsMinimalTuple);

	bs->calls = palloc0(sizeof(CallState) * Max(bs->ncalls, 1));
	lc = list_nth_cell(cscan->custom_private, 1);
	for (c = 0; c < bs->ncalls; c++)
	{
		CallState  *cs = &bs->calls[c];
		TargetEntry *tle = list_nth_node(TargetEntry, cscan->custom_scan_tlist,
										 bs->ninput + c);
		int			a = 0;
		ListCell   *arg;

		cs->call.func = BertBatchFuncGet(intVal(lfirst(lc)));
		lc = lnext(cscan->custom_private, lc);
		cs->call.has_model = intVal(lfirst(lc)) != 0;
		lc = lnext(cscan->custom_private, lc);
		cs->call.nargs = cs->call.func->ntexts + (cs->call.has_model ? 1 : 0);
		cs->expr = castNode(FuncExpr, tle->expr);
		if (list_length(cs->expr->args) != cs->call.nargs)
			elog(ERROR, "BertBatch call has %d arguments, expected %d",
				 list_length(cs->expr->args), cs->call.nargs);
		check_execute(cs->expr->funcid);
		fmgr_info(cs->expr->funcid, &cs->flinfo);
		cs->fcinfo = palloc0(SizeForFunctionCallInfo(0));
		InitFunctionCallInfoData(*cs->fcinfo, &cs->flinfo, 0, InvalidOid, NULL, NULL);
		foreach(arg, cs->expr->args)
			cs->args[a++] = ExecInitExpr((Expr *) lfirst(arg), &node->ss.ps);
		cs->call.args = palloc(sizeof(Datum) * BERT_BATCH_MAX_ROWS * cs->call.nargs);
		cs->call.model = palloc(sizeof(char *) * BERT_BATCH_MAX_ROWS);
		cs->call.values = palloc(sizeof(Datum) * BERT_BATCH_MAX_ROWS);
		cs->call.nulls = palloc(sizeof(bool) * BERT_BATCH_MAX_ROWS);
	}
	bs->arg_context = CreateExprContext(estate);
	bs->batch_context = AllocSetContextCreate(estate->es_query_cxt, "BertBatch batch",
											  ALLOCSET_DEFAULT_SIZES);
	bs->row_context = AllocSetContextCreate(estate->es_query_cxt, "BertBatch row",
											ALLOCSET_DEFAULT_SIZES);
	bs->target = 1;
}

/*
 * Evaluates every call's arguments for row r of the batch, copies them into
 * the batch context and sets the row's model name (NULL for a NULL
 * argument).  Returns the bytes copied.
 */
static Size
read_arguments(BatchState *bs, int r)
{
	ExprContext *econtext = bs->arg_context;
	Size		bytes = 0;

	for (int c = 0; c < bs->ncalls; c++)
	{
		CallState  *cs = &bs->calls[c];
		Datum	   *args = &cs->call.args[r * cs->call.nargs];
		bool		any_null = false;

		ResetExprContext(econtext);
		econtext->ecxt_outertuple = bs->rows[r];
		for (int a = 0; a < cs->call.nargs; a++)
		{
			bool		isnull;
			Datum		value = ExecEvalExprSwitchContext(cs->args[a], econtext, &isnull);

			if (isnull)
			{
				any_null = true;
				args[a] = (Datum) 0;
				continue;
			}
			args[a] = datumCopy(value, false, -1);
			bytes += VARSIZE_ANY(DatumGetPointer(args[a]));
		}
		cs->call.model[r] = any_null ? NULL : BertBatchModelName(&cs->call, args);
	}
	ResetExprContext(econtext);
	return bytes;
}

/* Reads the next batch from the input and computes its calls. */
static void
read_batch(BatchState *bs)
{
	PlanState  *input = outerPlanState(bs);
	int			target = bert_batch_queries ? bs->target : 1;
	Size		bytes = 0;
	MemoryContext old;

	bs->nrows = bs->next = 0;
	for (int i = 0; i < BERT_BATCH_MAX_ROWS; i++)
		ExecClearTuple(bs->rows[i]);
	MemoryContextReset(bs->batch_context);
	while (bs->nrows < target && bytes < BERT_BATCH_MAX_BYTES)
	{
		TupleTableSlot *slot;

		CHECK_FOR_INTERRUPTS();
		/* the input runs in the query's context (it may create contexts) */
		slot = ExecProcNode(input);
		if (TupIsNull(slot))
		{
			bs->input_done = true;
			break;
		}
		ExecCopySlot(bs->rows[bs->nrows], slot);
		old = MemoryContextSwitchTo(bs->batch_context);
		bytes += read_arguments(bs, bs->nrows);
		MemoryContextSwitchTo(old);
		bs->nrows++;
	}
	old = MemoryContextSwitchTo(bs->batch_context);
	for (int c = 0; c < bs->ncalls && bs->nrows > 0; c++)
	{
		bs->calls[c].call.n = bs->nrows;
		evaluate_call(&bs->calls[c], bs->row_context);
	}
	MemoryContextSwitchTo(old);

	if (bs->nrows > 0)
	{
		bs->batches++;
		bs->largest = Max(bs->largest, bs->nrows);
	}
	bs->target = Min(bs->target * 2, BERT_BATCH_MAX_ROWS);
}

/* Returns the next row: the input's columns, the calls' results, projected. */
static TupleTableSlot *
exec_batch(CustomScanState *node)
{
	BatchState *bs = (BatchState *) node;
	TupleTableSlot *scan = node->ss.ss_ScanTupleSlot;
	TupleTableSlot *row;
	ExprContext *econtext = node->ss.ps.ps_ExprContext;

	if (bs->next >= bs->nrows)
	{
		if (bs->input_done)
			return NULL;
		read_batch(bs);
		if (bs->nrows == 0)
			return NULL;
	}
	row = bs->rows[bs->next];
	slot_getallattrs(row);
	ExecClearTuple(scan);
	memcpy(scan->tts_values, row->tts_values, sizeof(Datum) * bs->ninput);
	memcpy(scan->tts_isnull, row->tts_isnull, sizeof(bool) * bs->ninput);
	for (int c = 0; c < bs->ncalls; c++)
	{
		scan->tts_values[bs->ninput + c] = bs->calls[c].call.values[bs->next];
		scan->tts_isnull[bs->ninput + c] = bs->calls[c].call.nulls[bs->next];
	}
	ExecStoreVirtualTuple(scan);
	bs->next++;

	if (node->ss.ps.ps_ProjInfo == NULL)
		return scan;
	ResetExprContext(econtext);
	econtext->ecxt_scantuple = scan;
	return ExecProject(node->ss.ps.ps_ProjInfo);
}

/* Forgets the batch; the next row starts a batch of one. */
static void
forget_batch(BatchState *bs)
{
	bs->nrows = bs->next = 0;
	bs->input_done = false;
	bs->target = 1;
	for (int i = 0; i < BERT_BATCH_MAX_ROWS; i++)
		ExecClearTuple(bs->rows[i]);
	ExecClearTuple(bs->css.ss.ss_ScanTupleSlot);
	MemoryContextReset(bs->batch_context);
}

static void
rescan_batch(CustomScanState *node)
{
	BatchState *bs = (BatchState *) node;
	PlanState  *input = outerPlanState(node);

	forget_batch(bs);
	/* with changed parameters the input rescans itself on its next call */
	if (input->chgParam == NULL)
		ExecReScan(input);
}

static void
end_batch(CustomScanState *node)
{
	BatchState *bs = (BatchState *) node;

	forget_batch(bs);
	ExecEndNode(outerPlanState(node));
	MemoryContextDelete(bs->batch_context);
	MemoryContextDelete(bs->row_context);
}

/*
 * EXPLAIN: the largest batch; with VERBOSE the calls computed; with
 * ANALYZE the batches this process read and the largest.
 */
static void
explain_batch(CustomScanState *node, List *ancestors, ExplainState *es)
{
	BatchState *bs = (BatchState *) node;

	ExplainPropertyInteger("Batch Size", "rows", BERT_BATCH_MAX_ROWS, es);
	if (es->verbose)
	{
		List	   *context = set_deparse_context_plan(es->deparse_cxt,
													   node->ss.ps.plan,
													   ancestors);
		List	   *calls = NIL;
		bool		useprefix = list_length(es->rtable) > 1;	/* as Output */

		for (int c = 0; c < bs->ncalls; c++)
			calls = lappend(calls, deparse_expression((Node *) bs->calls[c].expr,
													  context, useprefix, false));
		ExplainPropertyList("Batched Calls", calls, es);
	}
	if (es->analyze)
	{
		ExplainPropertyInteger("Batches", NULL, bs->batches, es);
		ExplainPropertyInteger("Largest Batch", "rows", bs->largest, es);
	}
}
