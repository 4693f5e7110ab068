/*
 * nn_ops.c
 *		The layer operations of the encoder and its heads: nn.Linear,
 *		LayerNorm, activations, softmax.  Pure maths on caller-owned
 *		buffers (no fmgr, no allocation).
 *
 * All matrix products go to OpenBLAS (the linear maps in the way
 * gemm_plan.c chose for this CPU); the elementwise kernels are compiled
 * for the x86-64 feature levels v4 (AVX-512), v3 (AVX2 + FMA) and the
 * baseline, picked by CPU features at load time (target_clones), so the
 * library runs on any x86-64 CPU and uses AVX-512 where there is one.
 * Reductions carry "omp simd" so they vectorise without -ffast-math.
 */
#include "postgres.h"

#include <math.h>

#include "bert.h"
#include "gemm_plan.h"
#include "nn_ops.h"
#include "vecmath.h"

/* Fills every row of y (rows, n) with b (n), plus residual r (rows, n). */
BERT_MULTIVERSION
static void
fill_rows(float *restrict y, const float *restrict b,
		  const float *restrict r, int rows, int n)
{
	for (int i = 0; i < rows; i++)
	{
		float	   *yi = y + (size_t) i * n;

		if (r)
		{
			const float *ri = r + (size_t) i * n;

			for (int j = 0; j < n; j++)
				yi[j] = ri[j] + b[j];
		}
		else
			memcpy(yi, b, n * sizeof(float));
	}
}

/*
 * y (rows, out) = x (rows, in) W^T + b, W (out, in) as nn.Linear stores it.
 * How OpenBLAS is called (tiles or one call) is decided by gemm_plan.c.
 */
void
BertLinear(float *y, const float *x, const float *w, const float *b,
		   int rows, int in, int out)
{
	fill_rows(y, b, NULL, rows, out);
	BertGemmLinear(NULL, y, x, w, NULL, rows, in, out);
}
/*
 * y (rows, out) = x (rows, in) W^T + b + residual (rows, out): the closing
 * projection of a sub-block, exported so that training runs the same
 * arithmetic as inference.
 */
void
BertLinearResidual(float *y, const float *x, const float *w, const float *b,
				   const float *residual, int rows, int in, int out)
{
	fill_rows(y, b, residual, rows, out);
	BertGemmLinear(NULL, y, x, w, NULL, rows, in, out);
}

/*
 * y = x W^T + b (+ residual when not NULL) for a layer weight, given as
 * stored (w, (out, in)) and/or transposed (wt, (in, out)), by the model's
 * plan (gemm_plan.c).
 */
void
BertLayerLinear(const BertWeights *weights, float *y, const float *x,
				const float *w, const float *wt, const float *b,
				const float *residual, int rows, int in, int out)
{
	fill_rows(y, b, residual, rows, out);
	BertGemmLinear(weights->gemm_plan, y, x, w, wt, rows, in, out);
}

/* In place, per row of n: (x - mean) / sqrt(var + eps) * g + b. */
BERT_MULTIVERSION
void
BertLayerNorm(float *x, const float *g, const float *b, int rows, int n,
			  float eps)
{
	for (int i = 0; i < rows; i++)
	{
		float	   *xi = x + (size_t) i * n;
		float		mean = 0.0f,
					var = 0.0f,
					inv;

#pragma omp simd reduction(+:mean)
		for (int j = 0; j < n; j++)
			mean += xi[j];
		mean /= n;
#pragma omp simd reduction(+:var)
		for (int j = 0; j < n; j++)
			var += (xi[j] - mean) * (xi[j] - mean);
		var /= n;
		inv = 1.0f / sqrtf(var + eps);
		for (int j = 0; j < n; j++)
			xi[j] = (xi[j] - mean) * inv * g[j] + b[j];
	}
}

/* In place activation of n floats: GELU (erf or tanh form) or ReLU. */
BERT_MULTIVERSION
void
BertActivate(float *x, size_t n, BertActivation act)
{
	switch (act)
	{
		case BERT_ACT_GELU:
			for (size_t i = 0; i < n; i++)
				x[i] = 0.5f * x[i] * (1.0f + bert_erff(x[i] * 0.70710678118654752f));
			break;
		case BERT_ACT_GELU_TANH:
			for (size_t i = 0; i < n; i++)
			{
				float		v = x[i];
				float		u = 0.79788456080286536f * (v + 0.044715f * v * v * v);

				x[i] = 0.5f * v * (1.0f + bert_tanhf(u));
			}
			break;
		case BERT_ACT_RELU:
			for (size_t i = 0; i < n; i++)
				x[i] = x[i] > 0.0f ? x[i] : 0.0f;
			break;
	}
}

/* In place softmax of n floats. */
BERT_MULTIVERSION
void
BertSoftmax(float *x, int n)
{
	float		max = x[0],
				sum = 0.0f,
				inv;

#pragma omp simd reduction(max:max)
	for (int i = 1; i < n; i++)
		max = x[i] > max ? x[i] : max;
#pragma omp simd reduction(+:sum)
	for (int i = 0; i < n; i++)
	{
		x[i] = bert_expf(x[i] - max);
		sum += x[i];
	}
	inv = 1.0f / sum;
	for (int i = 0; i < n; i++)
		x[i] *= inv;
}
