/*
 * train_ops.h
 *		Forward and backward of each operation of the training engine
 *		(train_ops.c); used by train.c only.
 *
 * Shapes are (rows, cols) of row-major float matrices.  R: token rows of
 * the packed batch, H: hidden size, I: intermediate size.  Backward
 * functions accumulate (+=) into weight gradients and say for each input
 * gradient whether it is set or accumulated.
 */
#ifndef BERT_TRAIN_OPS_H
#define BERT_TRAIN_OPS_H

#include "train.h"

extern void BertEmbeddingForward(float *out, const BertBatch *b,
								 const float *word, const float *pos,
								 const float *type, int h);
extern void BertEmbeddingBackward(float *dword, float *dpos, float *dtype,
								  const float *dout, const BertBatch *b,
								  int h, int32_t pad_id);

extern void BertLayerNormForward(float *out, const float *in, const float *g,
								 const float *b, int rows, int n, float eps);
extern void BertLayerNormBackward(float *din, float *dg, float *db,
								  const float *dout, const float *in,
								  const float *g, int rows, int n, float eps);

extern void BertLinearBackward(float *dx, float *dw, float *db,
							   const float *dy, const float *x,
							   const float *w, int rows, int in, int out,
							   bool accumulate_dx);

extern void BertActivationForward(float *out, const float *in, size_t n,
								  BertActivation act);
extern void BertActivationBackward(float *dx, const float *dy, const float *x,
								   const float *y, size_t n, BertActivation act);
extern void BertTanhBackward(float *dx, const float *dy, const float *y,
							 size_t n);

extern void BertDropoutForward(float *x, uint8_t *mask, size_t n, float p,
							   BertRng *rng);
extern void BertDropoutBackward(float *dx, const uint8_t *mask, size_t n,
								float p);

extern void BertAttentionForward(float *ctx, float *probs, uint8_t *mask,
								 float *scratch, const float *q,
								 const float *k, const float *v,
								 const BertBatch *b, const int *q_start,
								 int h, int heads, float p, BertRng *rng);
extern void BertAttentionBackward(float *dq, float *dk, float *dv,
								  float *dscores, float *scratch,
								  const float *dctx, const float *probs,
								  const uint8_t *mask, const float *q,
								  const float *k, const float *v,
								  const BertBatch *b, const int *q_start,
								  int h, int heads, float p);

extern double BertCrossEntropyForward(float *probs, const float *logits,
									  const int32_t *labels, int rows,
									  int classes, int *targets,
									  int *correct);
extern void BertCrossEntropyBackward(float *dlogits, const float *probs,
									 const int32_t *labels, int rows,
									 int classes, float scale);

#endif							/* BERT_TRAIN_OPS_H */
