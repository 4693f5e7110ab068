/*
 * bert_sql.h
 *		Helpers shared by the SQL entry points (bert.c, pipelines.c,
 *		sql_pairs.c).
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
extern void forward_batched(BertModel *model, BertInput *inputs, int n,
							void (*emit) (void *arg, int index,
										  const float *hidden, int len),
							void *arg);
extern ArrayType *sentence_embedding(const BertModel *model,
									 const float *hidden, int len);
extern text *BertLabelText(const BertModel *model, const float *logits);

/* sql_pairs.c */
extern void BertCheckTokenTypes(const BertModel *model, const BertInput *input);
extern void BertPairLogits(BertModel *model, int n, text *const *texts,
						   text *const *pairs, float *logits);

#endif							/* BERT_SQL_H */
