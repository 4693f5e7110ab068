/*
 * batch.h
 *		Batched execution of plain queries: the table of functions that
 *		return one value per row (batch_funcs.c), the planner hook that puts
 *		a BertBatch custom scan under their calls (batch_plan.c) and the
 *		custom scan itself (batch_exec.c).
 */
#ifndef BERT_BATCH_H
#define BERT_BATCH_H

#include "fmgr.h"
#include "nodes/extensible.h"

#include "bert.h"

/* Rows of the largest batch; batches start at 1 row and double up to it. */
#define BERT_BATCH_MAX_ROWS 64
/* A batch also ends once its copied arguments reach this many bytes. */
#define BERT_BATCH_MAX_BYTES (8 * 1024 * 1024)
/* Text arguments of a batchable function, model argument included. */
#define BERT_BATCH_MAX_ARGS 3

typedef struct BertBatchFunc BertBatchFunc;

/*
 * A SQL function `name(text [, text], [model text])` that returns one value
 * per row computed from the encoder output of one sequence.  Adding a
 * function to batched execution is one entry in batch_funcs.c's table.
 */
struct BertBatchFunc
{
	const char *name;			/* SQL name, in the extension's schema */
	const char *symbol;			/* its C symbol (pg_proc.prosrc) */
	int			ntexts;			/* 1: [CLS] A [SEP]; 2: [CLS] A [SEP] B [SEP] */
	const char *setting;		/* model setting of the form without a model */
	char	  **setting_value;	/* that setting's variable */

	/* raises the per-row function's error when the model lacks its head */
	void		(*check) (const BertBatchFunc *func, const BertModel *model);
	/* tokenizes a row (b NULL for one text) as the per-row function does */
	void		(*encode) (const BertModel *model, text *a, text *b,
						   BertInput *input);
	/* the result of one sequence from its hidden states (len, hidden_size) */
	Datum		(*result) (BertModel *model, const float *hidden, int len);
};

/*
 * One batched call over the rows of a batch.  args holds nargs values per
 * row (texts, then the model name when the call has one); model[r] is the
 * model name of row r, NULL when an argument was NULL (a STRICT function's
 * result is then NULL without looking at the model).
 */
typedef struct BertBatchCall
{
	const BertBatchFunc *func;
	bool		has_model;		/* the model is the last argument */
	int			nargs;			/* func->ntexts + has_model */
	int			n;				/* rows */
	Datum	   *args;			/* (n, nargs) */
	char	  **model;			/* (n) */
	Datum	   *values;			/* (n) results */
	bool	   *nulls;			/* (n) */
} BertBatchCall;

/* batch_funcs.c */
extern void BertBatchFuncsInit(void);
extern bool BertBatchFuncsPresent(void);
extern bool BertBatchFuncFind(Oid funcid, int *index, bool *has_model);
extern const BertBatchFunc *BertBatchFuncGet(int index);
extern char *BertBatchModelName(const BertBatchCall *call, const Datum *args);
extern void BertBatchEvaluate(BertBatchCall *call, MemoryContext row_context);

/* batch_plan.c */
extern void BertBatchInit(void);

/* batch_exec.c */
extern void BertBatchExecInit(void);
extern const CustomScanMethods *BertBatchScanMethods(void);

#endif							/* BERT_BATCH_H */
