/*
 * sql_common.h
 *		Helpers shared by the SQL entry points (sql_*.c, batch_funcs.c),
 *		defined in sql_common.c.
 */
#ifndef SQL_COMMON_H
#define SQL_COMMON_H

#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"

#include "bert.h"

/*
 * Token rows of one packed forward pass (BertForwardBatched and the text[]
 * forms); an input longer than that gets a pass of its own.
 */
#define BERT_BATCH_TOKENS 1024

extern BertModel *BertModelArg(FunctionCallInfo fcinfo, int argno,
							   const char *setting_value,
							   const char *setting);
extern char *BertTextToUtf8(text *t, size_t *len);
extern text *BertUtf8ToText(const char *s, size_t len);
extern text *BertCStringToText(const char *s);
extern int	BertArgmax(const float *x, int n);
extern int	BertMaxLength(const BertModel *model);
extern void BertEncodeText(const BertModel *model, text *a, text *b,
						   BertInput *input);
extern const float *BertForward(BertModel *model, const BertInput *input);
extern void BertRequireHead(const BertModel *model, BertHeadKind head,
							const char *function, const char *needed);
extern ArrayType *BertFloatArray(const float *x, int n);
extern const char *BertTokenText(const BertTokenizer *tok, int32 id);
extern void BertRequirePairs(const BertModel *model);

/*
 * Rows of a set-returning function, materialized into the executor's
 * tuplestore (which spills to a temporary file past work_mem).  Each row is
 * built in a short-lived memory context that is reset as soon as the row is
 * stored, so a call's memory does not grow with the rows it returns, and
 * each row checks for query cancel.  Use:
 *		BertRowsBegin(fcinfo, &rows);
 *		for each row: BertRowStart(&rows); build values; BertRowPut(&rows, ...);
 * Between BertRowStart and BertRowPut, CurrentMemoryContext is the row
 * context: nothing allocated there survives the row.
 */
typedef struct BertRows
{
	ReturnSetInfo *rsinfo;
	MemoryContext row_context;	/* reset after every row */
	MemoryContext call_context; /* the function's own */
	int64		count;			/* rows stored so far */
} BertRows;

extern void BertRowsBegin(FunctionCallInfo fcinfo, BertRows *rows);
extern void BertRowStart(BertRows *rows);
extern void BertRowPut(BertRows *rows, Datum *values, bool *nulls);
extern void BertLabelProbabilities(float *logits, int n);
extern void BertForwardBatched(BertModel *model, BertInput *inputs, int n,
							   void (*emit) (void *arg, int index,
											 const float *hidden, int len),
							   void *arg);
extern ArrayType *BertSentenceEmbedding(const BertModel *model,
										const float *hidden, int len);
extern text *BertLabelText(const BertModel *model, const float *logits);

extern void BertPairLogits(BertModel *model, int n, text *const *texts,
						   text *const *pairs, float *logits);

#endif							/* SQL_COMMON_H */
