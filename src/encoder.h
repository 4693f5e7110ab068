/*
 * encoder.h
 *		The Transformer encoder forward pass (encoder.c).
 */
#ifndef BERT_ENCODER_H
#define BERT_ENCODER_H

#include "bert.h"

extern void BertActivationsReserve(BertActivations *act, const BertConfig *cfg,
								   int rows);
extern void BertEncoderForward(const BertConfig *cfg, const BertWeights *w,
							   BertActivations *act, const BertBatch *batch);

#endif							/* BERT_ENCODER_H */
