/*
 * bert_sql.h
 *		Helpers shared by the SQL entry points (bert.c, pipelines.c).
 */
#ifndef BERT_SQL_H
#define BERT_SQL_H

#include "fmgr.h"
#include "utils/array.h"

#include "bert.h"

extern BertModel *BertModelFromArgs(FunctionCallInfo fcinfo, int argno,
									const char *setting_value,
									const char *setting);
extern char *BertTextToUtf8(text *t, size_t *len);
extern text *BertUtf8ToText(const char *s, size_t len);
extern int	BertMaxLength(const BertModel *model);
extern void BertEncodeText(const BertModel *model, text *a, text *b,
						   BertInput *input);
extern const float *BertForward(BertModel *model, const BertInput *input);
extern void BertRequireHead(const BertModel *model, BertHeadKind head,
							const char *function, const char *needed);
extern ArrayType *BertFloatArray(const float *x, int n);
extern void BertLabelProbabilities(float *logits, int n);

#endif							/* BERT_SQL_H */
