/*
 * nn_ops.c
 *		The layer operations of the encoder and its heads: nn.Linear,
 *		LayerNorm, activations, softmax.  Pure maths on caller-owned
 *		buffers (no fmgr, no allocation).
 *
 * All matrix products go to OpenBLAS; the elementwise kernels are compiled
 * for the x86-64 feature levels v4 (AVX-512), v3 (AVX2 + FMA) and the
 * baseline, picked by CPU features at load time (target_clones), so the
 * library runs on any x86-64 CPU and uses AVX-512 where there is one.
 * Reductions carry "omp simd" so they vectorise without -ffast-math.
 */
#include "postgres.h"

#include <math.h>

#include "bert.h"
#include "blas.h"
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
 * y (rows, out) += x (rows, in) W^T.
 *
 * For few rows, OpenBLAS's packed GEMM spends more time copying W into its
 * panel layout on every call than multiplying, and W is too large to stay
 * packed between calls without a private copy per backend.  Its unpacked
 * "small matrix" kernels read W in place but only take products of at most
 * 100^3 multiply-adds, so short inputs are cut into tiles of 32 output
 * features and as many rows as fit under that bound.  Measured on
 * AVX-512: 25 tokens x 256 -> 1024 runs at 186 GFLOP/s tiled, 119 in one
 * call, and 25 x 3072 -> 768 at 105 against 95; past 32 rows one call is
 * as fast or faster, except for narrow inputs (rows * in <= 32K).
 */
static void
linear_accumulate(float *y, const float *x, const float *w, int rows, int in,
				  int out)
{
	int			tile_rows;

	if ((rows > 32 && (int64) rows * in > 32768) || out % 32 != 0)
	{
		BertSgemm(1, rows, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
		return;
	}
	tile_rows = Max(1, Min(32, 1000000 / (32 * in)));
	for (int r = 0; r < rows; r += tile_rows)
	{
		int			m = Min(tile_rows, rows - r);

		for (int n = 0; n < out; n += 32)
			BertSgemm(1, m, 32, in, 1.0f, x + (size_t) r * in, in,
					  w + (size_t) n * in, in, 1.0f, y + (size_t) r * out + n, out);
	}
}

/*
 * y (rows, out) = x (rows, in) W^T + b, W (out, in) as nn.Linear stores it.
 */
void
BertLinear(float *y, const float *x, const float *w, const float *b,
		   int rows, int in, int out)
{
	fill_rows(y, b, NULL, rows, out);
	linear_accumulate(y, x, w, rows, in, out);
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
	linear_accumulate(y, x, w, rows, in, out);
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
