/*
 * batch_plan.c
 *		Planner hook that puts a BertBatch custom scan under the model calls
 *		of a finished plan, so that plain queries run the encoder over many
 *		rows per forward pass.
 *
 * The hook lets PostgreSQL plan the query as usual and then walks the
 * finished PlannedStmt (after set_plan_references, so every Var already
 * names its source: a scan's range-table entry, or OUTER_VAR / INNER_VAR /
 * INDEX_VAR of the node's inputs).  Working on the finished plan sees the
 * calls where PostgreSQL finally evaluates them: in the target list of a
 * scan or join (also of the partial scan that parallel workers run, since
 * PostgreSQL pushes expensive parallel-safe targets below Gather), in the
 * target list of a Result that projects over a Sort or Append, and in the
 * arguments and FILTER of aggregates.  Two shapes:
 *
 *	lift    A scan or join N whose target list has calls becomes
 *				BertBatch (N's target list)  ->  N' (N with a flat target list)
 *			N' keeps its quals and produces the Vars the expressions need
 *			(and the target entries without calls); BertBatch evaluates the
 *			calls over batches of N' rows and then projects N's original
 *			target list.  BertBatch's output is N's, column for column, so
 *			the node above (Gather, ModifyTable, Sort, ...) is unchanged.
 *
 *	below   An Agg or Result N whose per-input-row expressions have calls
 *			gets BertBatch between itself and its input:
 *				N  ->  BertBatch  ->  input
 *			BertBatch returns the input's columns plus one column per call,
 *			and N's expressions read those columns instead of the calls.
 *
 * custom_scan_tlist describes BertBatch's scan tuple: first the input's
 * columns (Var OUTER_VAR, i), then the calls, whose Vars read the input
 * (OUTER_VAR); custom_private holds the number of input columns and, per
 * call, its batch_funcs index and whether it has a model argument.  The
 * input is also lefttree, so EXPLAIN shows it as the child and deparses the
 * calls through it.
 *
 * Only calls that per-row execution evaluates for every row are batched:
 * at the top of a target entry or under operators and functions that
 * evaluate all their arguments, never under CASE, COALESCE, AND/OR, a
 * subplan, an aggregate's arguments when it has a FILTER, or a Result's
 * qual; quals themselves stay per row.  Nodes that must mark and restore
 * (the inner side of a merge join) are left alone, and so is a Result
 * that a LIMIT bound passes through (it would hide the bound from a top-N
 * sort below).  A scrollable cursor whose plan could scan backward before
 * gets a Material on top.
 *
 * The hook is installed when the library is loaded.  A session's first
 * statement can be planned before that: the planner then loads the library
 * itself, through bert_batch_support, the planner support function of the
 * batchable functions, too late for planner_hook but before the statement
 * starts, so an ExecutorStart hook batches a copy of that one plan.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"

#include "batch.h"
#include "guc.h"

static planner_hook_type prev_planner_hook = NULL;
static ExecutorStart_hook_type prev_executor_start_hook = NULL;

/* Planning under batch_planner, for bert_batch_support. */
static int	planner_depth = 0;
/* The support function ran; at its first run, planner_hook was not active. */
static bool support_called = false;
static bool plan_missed = false;
/* The plan that missed the hook (compared, never dereferenced): a cached
 * plan starts again with the same PlannedStmt */
static const PlannedStmt *missed_stmt = NULL;

/* State of one walk over a PlannedStmt. */
typedef struct PlanWalk
{
	PlannedStmt *stmt;
	int			next_node_id;	/* for new plan nodes; 0 until needed */
} PlanWalk;

/* How a walk reached a node. */
#define WALK_NEEDS_MARK		0x01	/* the parent marks and restores it */
#define WALK_UNDER_LIMIT	0x02	/* a LIMIT bound is passed down to it */

/* The calls of one node while its expressions are rewritten. */
typedef struct CallRewrite
{
	List	   *calls;			/* FuncExpr, as found (for equal()) */
	List	   *input_calls;	/* the same, Vars reading BertBatch's input */
	List	   *flat;			/* lift: N' target list (TargetEntry) */
	int			first_attno;	/* attno of the first call's column */
	int			call_varno;		/* varno of the Vars replacing calls */
	int			var_varno;		/* lift: varno of the Vars mapped to flat */
	bool		lift;			/* lift: Vars are mapped to flat */
	bool		unconditional;	/* evaluated for every row here */
} CallRewrite;

/* True for expressions that evaluate all their direct arguments. */
static bool
evaluates_all_args(Node *node)
{
	switch (nodeTag(node))
	{
		case T_TargetEntry:
		case T_List:
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
		case T_ScalarArrayOpExpr:
		case T_RelabelType:
		case T_CoerceViaIO:
		case T_ConvertRowtypeExpr:
		case T_CollateExpr:
		case T_RowExpr:
		case T_ArrayExpr:
		case T_MinMaxExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_CoerceToDomain:
		case T_FieldSelect:
			return !expression_returns_set(node);
		case T_FuncExpr:
			return !((FuncExpr *) node)->funcretset;
		case T_BoolExpr:
			return ((BoolExpr *) node)->boolop == NOT_EXPR;
		default:
			return false;
	}
}

/*
 * True if an argument has what a BertBatch cannot evaluate per row before
 * the call; with *lift false (below), any Var not reading the input.
 */
static bool
args_unsupported(Node *node, bool *lift)
{
	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Var:
			return !*lift && ((Var *) node)->varno != OUTER_VAR;
		case T_SubPlan:
		case T_AlternativeSubPlan:
		case T_Aggref:
		case T_WindowFunc:
		case T_GroupingFunc:
		case T_CaseTestExpr:
		case T_CoerceToDomainValue:
		case T_SetToDefault:
			return true;
		case T_Param:
			return ((Param *) node)->paramkind != PARAM_EXEC &&
				((Param *) node)->paramkind != PARAM_EXTERN;
		case T_FuncExpr:
			if (((FuncExpr *) node)->funcretset)
				return true;
			break;
		case T_OpExpr:
			if (((OpExpr *) node)->opretset)
				return true;
			break;
		default:
			break;
	}
	return expression_tree_walker(node, args_unsupported, lift);
}

/* True if node is a call of a batchable function that BertBatch can take. */
static bool
is_batchable(Node *node, bool lift)
{
	FuncExpr   *f;
	int			index;
	bool		has_model;

	if (node == NULL || !IsA(node, FuncExpr))
		return false;
	f = (FuncExpr *) node;
	if (f->funcretset || f->funcvariadic ||
		!BertBatchFuncFind(f->funcid, &index, &has_model))
		return false;
	return !args_unsupported((Node *) f->args, &lift);
}

/* Finds batchable calls evaluated for every row (context: bool lift). */
static bool
has_batchable_walker(Node *node, bool *lift)
{
	if (node == NULL)
		return false;
	if (is_batchable(node, *lift))
		return true;
	if (!evaluates_all_args(node))
		return false;
	return expression_tree_walker(node, has_batchable_walker, lift);
}

static bool
contains_subplan_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan))
		return true;
	return expression_tree_walker(node, contains_subplan_walker, context);
}

/* Position (from 1) of expr in a target list, adding it if absent. */
static AttrNumber
flat_position(List **flat, Expr *expr)
{
	ListCell   *lc;
	TargetEntry *tle;

	foreach(lc, *flat)
	{
		tle = lfirst_node(TargetEntry, lc);
		if (equal(tle->expr, expr))
			return tle->resno;
	}
	tle = makeTargetEntry((Expr *) copyObject(expr), list_length(*flat) + 1,
						  NULL, false);
	*flat = lappend(*flat, tle);
	return tle->resno;
}

/* A Var of varno that reads column attno of the same type as expr. */
static Var *
var_for(int varno, AttrNumber attno, Expr *expr)
{
	return makeVar(varno, attno, exprType((Node *) expr),
				   exprTypmod((Node *) expr), exprCollation((Node *) expr), 0);
}

/* Adds every Var under node to the flat target list. */
static bool
collect_vars_walker(Node *node, List **flat)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		(void) flat_position(flat, (Expr *) node);
		return false;
	}
	return expression_tree_walker(node, collect_vars_walker, flat);
}

/* lift: a Var of N becomes the Var (rw->var_varno) of its column of N'. */
static Node *
map_vars_mutator(Node *node, CallRewrite *rw)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
		return (Node *) var_for(rw->var_varno,
								flat_position(&rw->flat, (Expr *) node),
								(Expr *) node);
	return expression_tree_mutator(node, map_vars_mutator, rw);
}

/* The column of a call (added to rw->calls unless an equal one is there). */
static Node *
call_column(CallRewrite *rw, Node *call)
{
	int			k = 0;
	ListCell   *lc;

	foreach(lc, rw->calls)
	{
		if (equal(lfirst(lc), call))
			return (Node *) var_for(rw->call_varno, rw->first_attno + k, (Expr *) call);
		k++;
	}
	rw->calls = lappend(rw->calls, copyObject(call));
	if (rw->lift)
	{
		int			save = rw->var_varno;

		/* the call's own Vars read BertBatch's input */
		rw->var_varno = OUTER_VAR;
		rw->input_calls = lappend(rw->input_calls,
								  expression_tree_mutator(call, map_vars_mutator, rw));
		rw->var_varno = save;
	}
	else
		rw->input_calls = lappend(rw->input_calls, copyObject(call));
	return (Node *) var_for(rw->call_varno, rw->first_attno + k, (Expr *) call);
}

/*
 * Replaces the batchable calls evaluated for every row by Vars of their
 * BertBatch columns; with rw->lift, every other Var by the column of N'
 * that carries it.
 */
static Node *
rewrite_mutator(Node *node, CallRewrite *rw)
{
	bool		save;
	Node	   *result;

	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
		return rw->lift ? map_vars_mutator(node, rw) : copyObject(node);
	if (rw->unconditional && is_batchable(node, rw->lift))
		return call_column(rw, node);
	if (IsA(node, Aggref) && !rw->lift)
	{
		/* an Agg node: arguments run per input row, unless FILTERed */
		Aggref	   *agg = (Aggref *) copyObject(node);

		save = rw->unconditional;
		rw->unconditional = true;
		if (agg->aggfilter)
			agg->aggfilter = (Expr *) rewrite_mutator((Node *) agg->aggfilter, rw);
		else
			agg->args = (List *) rewrite_mutator((Node *) agg->args, rw);
		rw->unconditional = save;
		return (Node *) agg;
	}
	save = rw->unconditional;
	if (IsA(node, SubscriptingRef))
	{
		/* the container is evaluated first; subscripts may be skipped */
		SubscriptingRef *sref = (SubscriptingRef *) copyObject(node);

		sref->refexpr = (Expr *) rewrite_mutator((Node *) sref->refexpr, rw);
		rw->unconditional = false;
		sref->refupperindexpr = (List *) rewrite_mutator((Node *) sref->refupperindexpr, rw);
		sref->reflowerindexpr = (List *) rewrite_mutator((Node *) sref->reflowerindexpr, rw);
		sref->refassgnexpr = (Expr *) rewrite_mutator((Node *) sref->refassgnexpr, rw);
		rw->unconditional = save;
		return (Node *) sref;
	}
	/* below a conditional node everything stays conditional; its lists
	 * (CaseWhen) are no expressions evaluates_all_args could walk */
	if (rw->unconditional && !evaluates_all_args(node))
		rw->unconditional = false;
	result = expression_tree_mutator(node, rewrite_mutator, rw);
	rw->unconditional = save;
	return result;
}

/* The next unused plan_node_id (the first call scans the whole plan). */
static int	max_node_id(Plan *plan);

static int
new_node_id(PlanWalk *walk)
{
	if (walk->next_node_id == 0)
	{
		ListCell   *lc;
		int			max = max_node_id(walk->stmt->planTree);

		foreach(lc, walk->stmt->subplans)
			max = Max(max, max_node_id((Plan *) lfirst(lc)));
		walk->next_node_id = max + 1;
	}
	return walk->next_node_id++;
}

/* The PARAM_EXEC ids under node. */
static bool
exec_params_walker(Node *node, Bitmapset **params)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		*params = bms_add_member(*params, ((Param *) node)->paramid);
	return expression_tree_walker(node, exec_params_walker, params);
}

/*
 * A BertBatch node over `input` computing `input_calls` (Vars OUTER_VAR),
 * with output target list `tlist` (Vars INDEX_VAR of its scan tuple: the
 * input's columns, then the calls).
 */
static Plan *
make_batch_node(PlanWalk *walk, Plan *input, List *input_calls, List *tlist,
				const Plan *costs)
{
	CustomScan *cscan = makeNode(CustomScan);
	List	   *scan_tlist = NIL;
	List	   *private = NIL;
	ListCell   *lc;
	Bitmapset  *params = NULL;

	foreach(lc, input->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) var_for(OUTER_VAR, tle->resno, tle->expr),
											 list_length(scan_tlist) + 1,
											 tle->resname, false));
	}
	private = lappend(private, makeInteger(list_length(input->targetlist)));
	foreach(lc, input_calls)
	{
		FuncExpr   *call = lfirst_node(FuncExpr, lc);
		int			index;
		bool		has_model;

		if (!BertBatchFuncFind(call->funcid, &index, &has_model))
			elog(ERROR, "function %u is not batchable", call->funcid);
		scan_tlist = lappend(scan_tlist,
							 makeTargetEntry((Expr *) call, list_length(scan_tlist) + 1,
											 NULL, false));
		private = lappend(private, makeInteger(index));
		private = lappend(private, makeInteger(has_model ? 1 : 0));
	}
	(void) exec_params_walker((Node *) input_calls, &params);

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = NIL;
	cscan->scan.plan.lefttree = input;
	cscan->scan.plan.righttree = NULL;
	cscan->scan.plan.startup_cost = costs->startup_cost;
	cscan->scan.plan.total_cost = costs->total_cost;
	cscan->scan.plan.plan_rows = costs->plan_rows;
	cscan->scan.plan.plan_width = costs->plan_width;
	cscan->scan.plan.parallel_aware = false;
	cscan->scan.plan.parallel_safe = input->parallel_safe && costs->parallel_safe;
	cscan->scan.plan.async_capable = false;
	cscan->scan.plan.plan_node_id = new_node_id(walk);
	cscan->scan.plan.extParam = bms_union(input->extParam, params);
	cscan->scan.plan.allParam = bms_union(input->allParam, params);
	cscan->scan.scanrelid = 0;
	cscan->flags = 0;
	cscan->custom_plans = NIL;
	cscan->custom_exprs = NIL;
	cscan->custom_private = private;
	cscan->custom_scan_tlist = scan_tlist;
	cscan->custom_relids = NULL;
	cscan->methods = BertBatchScanMethods();
	return (Plan *) cscan;
}

/*
 * lift: a scan or join whose target list has calls becomes BertBatch over
 * the same node with a flat target list.  Returns the node to use.
 */
static Plan *
batch_lift(PlanWalk *walk, Plan *plan)
{
	CallRewrite rw = {0};
	bool		lift = true;
	bool	   *batched;
	List	   *tlist = NIL;
	ListCell   *lc;
	int			i = 0;
	bool		any = false;
	Plan	   *batch;

	batched = palloc0(sizeof(bool) * Max(list_length(plan->targetlist), 1));
	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		batched[i] = has_batchable_walker((Node *) tle->expr, &lift) &&
			!contains_subplan_walker((Node *) tle->expr, NULL);
		any |= batched[i++];
	}
	if (!any)
		return plan;

	/* N': the entries without calls as they are, then the Vars of the rest */
	i = 0;
	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!batched[i++])
			rw.flat = lappend(rw.flat,
							  makeTargetEntry(tle->expr, list_length(rw.flat) + 1,
											  tle->resname, false));
	}
	i = 0;
	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (batched[i++])
			(void) collect_vars_walker((Node *) tle->expr, &rw.flat);
	}

	/* BertBatch's target list: N's, reading BertBatch's scan tuple */
	rw.lift = true;
	rw.call_varno = INDEX_VAR;
	rw.var_varno = INDEX_VAR;
	rw.first_attno = list_length(rw.flat) + 1;
	i = 0;
	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		TargetEntry *out = flatCopyTargetEntry(tle);

		if (batched[i++])
		{
			rw.unconditional = true;
			out->expr = (Expr *) rewrite_mutator((Node *) tle->expr, &rw);
		}
		else
			out->expr = (Expr *) var_for(INDEX_VAR,
										 flat_position(&rw.flat, tle->expr),
										 tle->expr);
		tlist = lappend(tlist, out);
	}
	Assert(list_length(rw.flat) + 1 == rw.first_attno);

	plan->targetlist = rw.flat;
	batch = make_batch_node(walk, plan, rw.input_calls, tlist, plan);
	batch->extParam = bms_copy(plan->extParam);
	batch->allParam = bms_copy(plan->allParam);
	return batch;
}

/* The pass-through target list of a BertBatch with ncols columns. */
static List *
pass_through_tlist(List *scan_tlist)
{
	List	   *tlist = NIL;
	ListCell   *lc;

	foreach(lc, scan_tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		tlist = lappend(tlist,
						makeTargetEntry((Expr *) var_for(INDEX_VAR, tle->resno, tle->expr),
										tle->resno, NULL, false));
	}
	return tlist;
}

/*
 * below: an Agg (calls in aggregate arguments and FILTERs) or a Result
 * without quals (calls in its target list) reads its calls from a BertBatch
 * inserted under it.
 */
static void
batch_below(PlanWalk *walk, Plan *plan)
{
	CallRewrite rw = {0};
	Plan	   *input = plan->lefttree;
	List	   *tlist;
	List	   *qual;
	Plan	   *batch;

	rw.lift = false;
	rw.call_varno = OUTER_VAR;
	rw.first_attno = list_length(input->targetlist) + 1;
	rw.unconditional = IsA(plan, Result);
	tlist = (List *) rewrite_mutator((Node *) plan->targetlist, &rw);
	rw.unconditional = false;
	qual = (List *) rewrite_mutator((Node *) plan->qual, &rw);
	if (rw.calls == NIL)
		return;
	batch = make_batch_node(walk, input, rw.input_calls, NIL, input);
	((CustomScan *) batch)->scan.plan.targetlist =
		pass_through_tlist(((CustomScan *) batch)->custom_scan_tlist);
	plan->targetlist = tlist;
	plan->qual = qual;
	plan->lefttree = batch;
}

/* True for nodes whose target list is projected from a scan or join. */
static bool
is_liftable(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_SubqueryScan:
		case T_FunctionScan:
		case T_TableFuncScan:
		case T_ValuesScan:
		case T_CteScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			return true;
		default:
			return false;
	}
}

static Plan *walk_plan(PlanWalk *walk, Plan *plan, int flags);

/* Walks a list of plans in place. */
static void
walk_plan_list(PlanWalk *walk, List *plans, int flags)
{
	ListCell   *lc;

	foreach(lc, plans)
		lfirst(lc) = walk_plan(walk, (Plan *) lfirst(lc), flags);
}

/* Walks the children, then rewrites the node; returns the node to use. */
static Plan *
walk_plan(PlanWalk *walk, Plan *plan, int flags)
{
	int			pass = flags & (WALK_NEEDS_MARK | WALK_UNDER_LIMIT);

	if (plan == NULL)
		return NULL;
	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	switch (nodeTag(plan))
	{
		case T_CustomScan:
		case T_ForeignScan:
			/* another provider's node: its children are its business */
			return plan;
		case T_Limit:
			plan->lefttree = walk_plan(walk, plan->lefttree, WALK_UNDER_LIMIT);
			break;
		case T_Result:
		case T_Gather:
		case T_GatherMerge:
			plan->lefttree = walk_plan(walk, plan->lefttree, pass);
			break;
		case T_SubqueryScan:
			((SubqueryScan *) plan)->subplan =
				walk_plan(walk, ((SubqueryScan *) plan)->subplan, pass & WALK_UNDER_LIMIT);
			break;
		case T_Append:
			walk_plan_list(walk, ((Append *) plan)->appendplans, pass);
			break;
		case T_MergeAppend:
			walk_plan_list(walk, ((MergeAppend *) plan)->mergeplans, pass);
			break;
		case T_MergeJoin:
			plan->lefttree = walk_plan(walk, plan->lefttree, 0);
			plan->righttree = walk_plan(walk, plan->righttree,
										((MergeJoin *) plan)->skip_mark_restore ? 0 : WALK_NEEDS_MARK);
			break;
		default:
			plan->lefttree = walk_plan(walk, plan->lefttree, 0);
			plan->righttree = walk_plan(walk, plan->righttree, 0);
			break;
	}

	if (flags & WALK_NEEDS_MARK)
		return plan;
	if (IsA(plan, Agg) && plan->lefttree)
		batch_below(walk, plan);
	else if (IsA(plan, Result) && plan->lefttree && plan->qual == NIL &&
			 !(flags & WALK_UNDER_LIMIT))
		batch_below(walk, plan);
	else if (is_liftable(plan))
		return batch_lift(walk, plan);
	return plan;
}

/* The largest plan_node_id in a plan tree, children of any node included. */
static int
max_node_id(Plan *plan)
{
	int			max;
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return 0;
	check_stack_depth();
	max = Max(plan->plan_node_id, Max(max_node_id(plan->lefttree),
									  max_node_id(plan->righttree)));
	switch (nodeTag(plan))
	{
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_MergeAppend:
			children = ((MergeAppend *) plan)->mergeplans;
			break;
		case T_BitmapAnd:
			children = ((BitmapAnd *) plan)->bitmapplans;
			break;
		case T_BitmapOr:
			children = ((BitmapOr *) plan)->bitmapplans;
			break;
		case T_CustomScan:
			children = ((CustomScan *) plan)->custom_plans;
			break;
		case T_SubqueryScan:
			max = Max(max, max_node_id(((SubqueryScan *) plan)->subplan));
			break;
		default:
			break;
	}
	foreach(lc, children)
		max = Max(max, max_node_id((Plan *) lfirst(lc)));
	return max;
}

/* A Material over the top plan, so that a scrollable cursor can go back. */
static Plan *
add_material(PlanWalk *walk, Plan *top)
{
	Material   *mat = makeNode(Material);
	ListCell   *lc;

	foreach(lc, top->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		TargetEntry *out = flatCopyTargetEntry(tle);

		out->expr = (Expr *) makeVarFromTargetEntry(OUTER_VAR, tle);
		mat->plan.targetlist = lappend(mat->plan.targetlist, out);
	}
	mat->plan.lefttree = top;
	mat->plan.startup_cost = top->startup_cost;
	mat->plan.total_cost = top->total_cost;
	mat->plan.plan_rows = top->plan_rows;
	mat->plan.plan_width = top->plan_width;
	mat->plan.parallel_aware = false;
	mat->plan.parallel_safe = top->parallel_safe;
	mat->plan.plan_node_id = new_node_id(walk);
	mat->plan.extParam = bms_copy(top->extParam);
	mat->plan.allParam = bms_copy(top->allParam);
	return (Plan *) mat;
}

/*
 * Rewrites a finished plan for batched execution.  cursorOptions tell
 * whether a cursor may fetch backward: explicitly (SCROLL) or because its
 * scrollability is decided from the plan (a DECLARE without SCROLL or NO
 * SCROLL, which the planner marks CURSOR_OPT_FAST_PLAN).
 */
static void
batch_plan(PlannedStmt *stmt, int cursorOptions)
{
	PlanWalk	walk = {stmt, 0};
	bool		may_scroll;
	bool		could_scan_backward = false;
	ListCell   *lc;

	may_scroll = (cursorOptions & CURSOR_OPT_SCROLL) ||
		((cursorOptions & CURSOR_OPT_FAST_PLAN) &&
		 !(cursorOptions & CURSOR_OPT_NO_SCROLL));
	if (may_scroll)
		could_scan_backward = ExecSupportsBackwardScan(stmt->planTree);

	stmt->planTree = walk_plan(&walk, stmt->planTree, 0);
	foreach(lc, stmt->subplans)
		lfirst(lc) = walk_plan(&walk, (Plan *) lfirst(lc), 0);

	if (walk.next_node_id != 0 && could_scan_backward &&
		!ExecSupportsBackwardScan(stmt->planTree))
		stmt->planTree = add_material(&walk, stmt->planTree);
}

/* planner_hook: plans as usual, then batches the model calls. */
static PlannedStmt *
batch_planner(Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams)
{
	PlannedStmt *stmt;

	planner_depth++;
	PG_TRY();
	{
		if (prev_planner_hook)
			stmt = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
		else
			stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		planner_depth--;
	}
	PG_END_TRY();
	if (bert_batch_queries && stmt->commandType != CMD_UTILITY &&
		BertBatchFuncsPresent())
		batch_plan(stmt, cursorOptions);
	return stmt;
}

/*
 * ExecutorStart_hook: batches a copy of the plan of the statement during
 * whose planning the library was loaded (planner_hook did not see it),
 * every time that plan starts (PL/pgSQL and prepared statements keep it).
 * A cursor that may fetch backward (EXEC_FLAG_BACKWARD) is treated as
 * SCROLL.
 */
static void
batch_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (plan_missed)
	{
		plan_missed = false;
		missed_stmt = queryDesc->plannedstmt;
	}
	if (missed_stmt != NULL && queryDesc->plannedstmt == missed_stmt &&
		bert_batch_queries && !IsParallelWorker() &&
		queryDesc->plannedstmt->commandType != CMD_UTILITY &&
		BertBatchFuncsPresent())
	{
		PlannedStmt *stmt = copyObject(queryDesc->plannedstmt);

		batch_plan(stmt, (eflags & EXEC_FLAG_BACKWARD) ? CURSOR_OPT_SCROLL : 0);
		queryDesc->plannedstmt = stmt;
	}
	if (prev_executor_start_hook)
		prev_executor_start_hook(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * bert_batch_support(internal) -> internal
 * Planner support function of the batchable functions.  It answers no
 * request (NULL); its use is that the planner, calling it, loads the
 * library.  The first call in a process outside batch_planner means that
 * the statement being planned missed planner_hook.
 */
PG_FUNCTION_INFO_V1(bert_batch_support);
Datum
bert_batch_support(pg_attribute_unused() PG_FUNCTION_ARGS)
{
	if (!support_called)
	{
		support_called = true;
		plan_missed = (planner_depth == 0);
	}
	PG_RETURN_POINTER(NULL);
}

/*
 * Installs batched execution: the function table's invalidation, the
 * custom scan's methods, the planner hook and the executor start hook.
 * Called once from _PG_init.
 */
void
BertBatchInit(void)
{
	BertBatchFuncsInit();
	BertBatchExecInit();
	prev_planner_hook = planner_hook;
	planner_hook = batch_planner;
	prev_executor_start_hook = ExecutorStart_hook;
	ExecutorStart_hook = batch_executor_start;
}
