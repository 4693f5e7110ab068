/*
 * heads.h
 *		Pooling, normalisation and the task heads over last_hidden_state
 *		(heads.c); callers own every buffer.
 */
#ifndef BERT_HEADS_H
#define BERT_HEADS_H

#include "bert.h"

extern void BertPool(float *out, const float *hidden, int rows, int hidden_size,
					 BertPooling pooling);
extern void BertL2Normalize(float *x, int n);
extern void BertPoolerOutput(float *out, const BertConfig *cfg,
							 const BertWeights *w, const float *cls_row);
extern void BertSequenceLogits(float *logits, float *scratch,
							   const BertConfig *cfg, const BertWeights *w,
							   const float *hidden);
extern void BertTokenLogits(float *logits, const BertConfig *cfg,
							const BertWeights *w, const float *hidden,
							int rows);
extern void BertMaskedLmLogits(float *logits, float *scratch,
							   const BertConfig *cfg, const BertWeights *w,
							   const float *hidden_row);
extern void BertNextSentenceLogits(float *logits, float *scratch,
								   const BertConfig *cfg, const BertWeights *w,
								   const float *hidden);
extern void BertQaLogits(float *start, float *end, float *scratch,
						 const BertConfig *cfg, const BertWeights *w,
						 const float *hidden, int rows);

#endif							/* BERT_HEADS_H */
