/*
 * encoder.h
 *		The Transformer encoder forward pass (encoder.c).
 */
#ifndef BERT_ENCODER_H
#define BERT_ENCODER_H

#include "bert.h"

/*
 * Sequences packed one after another without padding, and the arrays its
 * BertBatch points to (owned; grown with repalloc when reused).
 */
typedef struct BertPacked
{
	BertBatch	batch;
	int		   *seq_start;		/* (seqs_cap + 1) */
	int32_t    *ids;			/* (rows_cap) */
	int32_t    *types;			/* (rows_cap) */
	int			seqs_cap;
	int			rows_cap;
} BertPacked;

extern int	BertPackCount(const BertInput *inputs, int n, int max_rows);
extern void BertPackInputs(BertPacked *p, const BertInput *inputs, int n);
extern void BertActivationsReserve(BertActivations *act, const BertConfig *cfg,
								   int rows);
extern void BertEncoderForward(const BertConfig *cfg, const BertWeights *w,
							   BertActivations *act, const BertBatch *batch);

#endif							/* BERT_ENCODER_H */
