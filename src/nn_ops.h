/*
 * nn_ops.h
 *		Layer operations on caller-owned float buffers (nn_ops.c).  Shapes
 *		are (rows, cols) of row-major matrices; W is (out, in) as nn.Linear
 *		stores it.
 */
#ifndef BERT_NN_OPS_H
#define BERT_NN_OPS_H

#include <stddef.h>

#include "bert.h"

/* y (rows, out) = x (rows, in) W^T + b */
extern void BertLinear(float *y, const float *x, const float *w,
					   const float *b, int rows, int in, int out);
/* y (rows, out) = x (rows, in) W^T + b + residual (rows, out) */
extern void BertLinearResidual(float *y, const float *x, const float *w,
							   const float *b, const float *residual,
							   int rows, int in, int out);
/* y = x W^T + b (+ residual) for a layer weight, w and/or wt, by the plan */
extern void BertLayerLinear(const BertWeights *weights, float *y,
							const float *x, const float *w, const float *wt,
							const float *b, const float *residual,
							int rows, int in, int out);
/* in place, per row of n: (x - mean) / sqrt(var + eps) * g + b */
extern void BertLayerNorm(float *x, const float *g, const float *b,
						  int rows, int n, float eps);
/* in place, n floats: GELU (erf or tanh form) or ReLU */
extern void BertActivate(float *x, size_t n, BertActivation act);
/* in place softmax of n floats */
extern void BertSoftmax(float *x, int n);

#endif							/* BERT_NN_OPS_H */
