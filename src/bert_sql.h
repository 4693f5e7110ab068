/*
 * bert_sql.h
 *		Helpers shared by the SQL entry points (bert.c, pipelines.c).
 */
#ifndef BERT_SQL_H
#define BERT_SQL_H

#include "fmgr.h"
#include "utils/array.h"

#include "bert.h"

extern const char *BertModelArg(FunctionCallInfo fcinfo, int argno,
								const char *setting_value);
extern char *BertTextToUtf8(text *t, size_t *len);
extern text *BertUtf8ToText(const char *s, size_t len);
extern int	BertMaxLength(const BertModel *model);
extern void BertEncodeText(const BertModel *model, text *a, text *b,
						   BertInput *input);
extern const float *BertForward(BertModel *model, const BertInput *input);
extern void BertRequireHead(const BertModel *model, BertHeadKind head,
							const char *function, const char *needed);
extern ArrayType *BertFloatArray(const float *x, int n);

#endif							/* BERT_SQL_H */
