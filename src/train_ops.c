/*
 * train_ops.c
 *		Each operation of the BERT training graph, its forward next to its
 *		backward (as llm.c's train_gpt2.c): embeddings, LayerNorm, linear
 *		maps, GELU / ReLU, tanh, dropout, multi-head attention with softmax,
 *		cross-entropy.
 *
 * Forward passes call the inference kernels of encoder.c (BertLinear,
 * BertLayerNorm, BertActivate, BertSoftmax) so training and inference
 * compute the same numbers; what is new here is the backward arithmetic.
 * Every matrix product goes to OpenBLAS (BertSgemm / BertSgemmTrans).
 * Sequences are packed without padding (BertBatch): attention runs per
 * sequence and per head, so no row sees another sequence.
 *
 * Pure C: no fmgr, no ereport, no allocation (callers pass every buffer).
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>

#include "blas.h"
#include "nn_ops.h"
#include "train_ops.h"
#include "vecmath.h"

/* ----------------------------------------------------------------
 * Embeddings
 * ---------------------------------------------------------------- */

/*
 * out (R, H) = word[input_ids] + position[0..len-1 per sequence]
 *				(+ type[token_type_ids]), in the order encoder.c's embed()
 * adds them.  type is NULL for DistilBERT.
 */
void
BertEmbeddingForward(float *out, const BertBatch *b, const float *word,
					 const float *pos, const float *type, int h)
{
	for (int s = 0; s < b->num_seqs; s++)
		for (int row = b->seq_start[s]; row < b->seq_start[s + 1]; row++)
		{
			float	   *x = out + (size_t) row * h;
			const float *we = word + (size_t) b->input_ids[row] * h;
			const float *pe = pos + (size_t) (row - b->seq_start[s]) * h;

			for (int j = 0; j < h; j++)
				x[j] = we[j] + pe[j];
			if (type)
			{
				const float *te = type + (size_t) b->token_type_ids[row] * h;

				for (int j = 0; j < h; j++)
					x[j] += te[j];
			}
		}
}

/*
 * Scatter-adds dout (R, H) into the rows of dword (vocab, H), dpos
 * (max_positions, H) and dtype (type_vocab, H; NULL for DistilBERT) that
 * the forward pass read.  The row of pad_id gets nothing, as
 * nn.Embedding(padding_idx=pad_token_id).
 */
void
BertEmbeddingBackward(float *dword, float *dpos, float *dtype,
					  const float *dout, const BertBatch *b, int h,
					  int32_t pad_id)
{
	for (int s = 0; s < b->num_seqs; s++)
		for (int row = b->seq_start[s]; row < b->seq_start[s + 1]; row++)
		{
			const float *d = dout + (size_t) row * h;
			float	   *pe = dpos + (size_t) (row - b->seq_start[s]) * h;

			if (b->input_ids[row] != pad_id)
			{
				float	   *we = dword + (size_t) b->input_ids[row] * h;

				for (int j = 0; j < h; j++)
					we[j] += d[j];
			}
			for (int j = 0; j < h; j++)
				pe[j] += d[j];
			if (dtype)
			{
				float	   *te = dtype + (size_t) b->token_type_ids[row] * h;

				for (int j = 0; j < h; j++)
					te[j] += d[j];
			}
		}
}

/* ----------------------------------------------------------------
 * LayerNorm (Ba et al. 2016)
 * ---------------------------------------------------------------- */

/* out (rows, n) = LayerNorm(in) with gain g (n) and bias b (n). */
void
BertLayerNormForward(float *out, const float *in, const float *g,
					 const float *b, int rows, int n, float eps)
{
	memcpy(out, in, sizeof(float) * (size_t) rows * n);
	BertLayerNorm(out, g, b, rows, n, eps);
}

/*
 * din (rows, n) = d LayerNorm / d in applied to dout (set, not
 * accumulated); dg, db (n) += the gain and bias gradients.  Mean and
 * 1/std are recomputed from in, as the forward pass computed them:
 *	 xhat = (x - mean) * rstd, dn = dout * g,
 *	 din = rstd * (dn - mean(dn) - xhat * mean(dn * xhat)).
 */
BERT_MULTIVERSION
void
BertLayerNormBackward(float *din, float *dg, float *db, const float *dout,
					  const float *in, const float *g, int rows, int n,
					  float eps)
{
	for (int i = 0; i < rows; i++)
	{
		const float *x = in + (size_t) i * n;
		const float *dy = dout + (size_t) i * n;
		float	   *dx = din + (size_t) i * n;
		float		mean = 0.0f,
					var = 0.0f,
					rstd,
					sum_dn = 0.0f,
					sum_dn_xhat = 0.0f;

#pragma omp simd reduction(+:mean)
		for (int j = 0; j < n; j++)
			mean += x[j];
		mean /= n;
#pragma omp simd reduction(+:var)
		for (int j = 0; j < n; j++)
			var += (x[j] - mean) * (x[j] - mean);
		var /= n;
		rstd = 1.0f / sqrtf(var + eps);

#pragma omp simd reduction(+:sum_dn,sum_dn_xhat)
		for (int j = 0; j < n; j++)
		{
			float		xhat = (x[j] - mean) * rstd;
			float		dn = dy[j] * g[j];

			sum_dn += dn;
			sum_dn_xhat += dn * xhat;
		}
		sum_dn /= n;
		sum_dn_xhat /= n;
		for (int j = 0; j < n; j++)
		{
			float		xhat = (x[j] - mean) * rstd;

			dx[j] = (dy[j] * g[j] - sum_dn - xhat * sum_dn_xhat) * rstd;
			dg[j] += dy[j] * xhat;
			db[j] += dy[j];
		}
	}
}

/* ----------------------------------------------------------------
 * Linear map y = x W^T + b (forward: BertLinear / BertLinearResidual)
 * ---------------------------------------------------------------- */

/*
 * Given dy (rows, out), x (rows, in) and W (out, in):
 *	 dx (rows, in) = dy W (set, or added when accumulate_dx; NULL: skipped)
 *	 dw (out, in) += dy^T x
 *	 db (out)	 += sum over rows of dy (NULL: no bias)
 */
BERT_MULTIVERSION
void
BertLinearBackward(float *dx, float *dw, float *db, const float *dy,
				   const float *x, const float *w, int rows, int in, int out,
				   bool accumulate_dx)
{
	if (rows == 0)
		return;
	if (dx)
		BertSgemm(0, rows, in, out, 1.0f, dy, out, w, in,
				  accumulate_dx ? 1.0f : 0.0f, dx, in);
	BertSgemmTrans(1, 0, out, in, rows, 1.0f, dy, out, x, in, 1.0f, dw, in);
	if (db)
		for (int i = 0; i < rows; i++)
		{
			const float *d = dy + (size_t) i * out;

			for (int j = 0; j < out; j++)
				db[j] += d[j];
		}
}

/* ----------------------------------------------------------------
 * Activations: GELU (erf, and the tanh form of gelu_new), ReLU; tanh
 * ---------------------------------------------------------------- */

/* out (n) = act(in), with the inference kernel. */
void
BertActivationForward(float *out, const float *in, size_t n,
					  BertActivation act)
{
	memcpy(out, in, sizeof(float) * n);
	BertActivate(out, n, act);
}

/*
 * dx (n) = dy * act'(x), x the input of the activation and y (n) its
 * output, as BertActivationForward computed it (dx may be dy; y is not
 * read for ReLU and may be NULL there).  Both GELUs are x c(x) with c the
 * Gaussian CDF (or its tanh form), so c = y / x comes from the forward
 * output (0.5 where x is 0) instead of a second erf or tanh:
 *	 gelu:		 c + x phi(x), phi the Gaussian density
 *	 gelu_tanh:	 c + 0.5 x (1 - t^2) k (1 + 3 a x^2) with t = 2 c - 1,
 *				 1 - t^2 = 4 c (1 - c), k = sqrt(2 / pi), a = 0.044715
 *	 relu:		 x > 0
 */
BERT_MULTIVERSION
void
BertActivationBackward(float *dx, const float *dy, const float *x,
					   const float *y, size_t n, BertActivation act)
{
	switch (act)
	{
		case BERT_ACT_GELU:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
			{
				float		v = x[i];
				bool		tiny = fabsf(v) <= 1e-20f;
				float		q = y[i] / (tiny ? 1.0f : v);
				float		cdf = tiny ? 0.5f : q;
				float		pdf = 0.39894228040143268f * bert_expf(-0.5f * v * v);

				dx[i] = dy[i] * (cdf + v * pdf);
			}
			break;
		case BERT_ACT_GELU_TANH:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
			{
				float		v = x[i];
				bool		tiny = fabsf(v) <= 1e-20f;
				float		q = y[i] / (tiny ? 1.0f : v);
				float		c = tiny ? 0.5f : q;
				float		du = 0.79788456080286536f * (1.0f + 3.0f * 0.044715f * v * v);

				dx[i] = dy[i] * (c + 2.0f * v * c * (1.0f - c) * du);
			}
			break;
		case BERT_ACT_RELU:
#pragma omp simd
			for (size_t i = 0; i < n; i++)
				dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
			break;
	}
}

/* dx (n) = dy * (1 - y^2), y = tanh(x) the forward output (dx may be dy). */
void
BertTanhBackward(float *dx, const float *dy, const float *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

/* ----------------------------------------------------------------
 * Dropout (Srivastava et al. 2014), inverted: kept values scaled by
 * 1 / (1 - p), so evaluation needs no scaling
 * ---------------------------------------------------------------- */

/*
 * In place on x (n): each element kept with probability 1 - p (a random
 * 32-bit word at or above p 2^32); mask (n).  The words come in blocks of
 * DROPOUT_BLOCK, two per generator draw.
 */
#define DROPOUT_BLOCK 1024

BERT_MULTIVERSION
void
BertDropoutForward(float *x, uint8_t *mask, size_t n, float p, BertRng *rng)
{
	uint32_t	threshold = (uint32_t) ((double) p * 4294967296.0);
	float		scale = 1.0f / (1.0f - p);
	uint32_t	bits[DROPOUT_BLOCK];

	for (size_t first = 0; first < n; first += DROPOUT_BLOCK)
	{
		size_t		m = Min((size_t) DROPOUT_BLOCK, n - first);
		float	   *xb = x + first;
		uint8_t    *mb = mask + first;

		BertRngFill32(rng, bits, m);
		for (size_t i = 0; i < m; i++)
		{
			mb[i] = bits[i] >= threshold;
			xb[i] = bits[i] >= threshold ? xb[i] * scale : 0.0f;
		}
	}
}

/* In place on dx (n): the same elements dropped, the same scale. */
BERT_MULTIVERSION
void
BertDropoutBackward(float *dx, const uint8_t *mask, size_t n, float p)
{
	float		scale = 1.0f / (1.0f - p);

	for (size_t i = 0; i < n; i++)
		dx[i] = mask[i] ? dx[i] * scale : 0.0f;
}

/* ----------------------------------------------------------------
 * Multi-head scaled dot-product attention (Vaswani et al. 2017)
 * ---------------------------------------------------------------- */

/*
 * Per sequence and head h_: P = softmax(Q_h K_h^T / sqrt(d)), saved in
 * probs (heads * sum(nq * len): sequence after sequence, head after head,
 * (nq, len) each); ctx_h (nq, d) = dropout(P) V_h.  k, v (R, H) hold the
 * rows of the batch; q, ctx (Rq, H) the query rows: those of sequence s are
 * rows q_start[s] .. q_start[s + 1] - 1 of q (nq of them, 1 <= nq <= len),
 * or with q_start NULL all rows of the sequence (q_start = seq_start, Rq =
 * R).  With p > 0 the dropped-out P goes through scratch (max len^2) and
 * its mask into mask (as probs).  The same BLAS calls as encoder.c's
 * attention().
 */
void
BertAttentionForward(float *ctx, float *probs, uint8_t *mask, float *scratch,
					 const float *q, const float *k, const float *v,
					 const BertBatch *b, const int *q_start, int h, int heads,
					 float p, BertRng *rng)
{
	int			d = h / heads;
	float		scale = 1.0f / sqrtf((float) d);
	size_t		poff = 0;

	if (q_start == NULL)
		q_start = b->seq_start;
	for (int s = 0; s < b->num_seqs; s++)
	{
		int			first = b->seq_start[s];
		int			len = b->seq_start[s + 1] - first;
		int			nq = q_start[s + 1] - q_start[s];

		for (int head = 0; head < heads; head++)
		{
			size_t		off = (size_t) first * h + (size_t) head * d;
			size_t		qoff = (size_t) q_start[s] * h + (size_t) head * d;
			float	   *P = probs + poff;
			const float *used = P;

			/* P (nq, len) = Q_h (nq, d) K_h^T (d, len) * scale */
			BertSgemm(1, nq, len, d, scale, q + qoff, h, k + off, h, 0.0f, P, len);
			for (int i = 0; i < nq; i++)
				BertSoftmax(P + (size_t) i * len, len);
			if (p > 0.0f)
			{
				memcpy(scratch, P, sizeof(float) * nq * len);
				BertDropoutForward(scratch, mask + poff, (size_t) nq * len, p, rng);
				used = scratch;
			}
			/* ctx_h (nq, d) = Pd (nq, len) V_h (len, d) */
			BertSgemm(0, nq, d, len, 1.0f, used, len, v + off, h, 0.0f,
					  ctx + qoff, h);
			poff += (size_t) nq * len;
		}
	}
}

/*
 * Given dctx (Rq, H), sets dq (Rq, H) and dk, dv (R, H), rows as in
 * BertAttentionForward:
 *	 dV_h = Pd^T dctx_h,  dPd = dctx_h V_h^T,  dP = dropout'(dPd),
 *	 dS = P * (dP - rowsum(P * dP))  (softmax backward),
 *	 dQ_h = dS K_h / sqrt(d),  dK_h = dS^T Q_h / sqrt(d).
 * dscores and scratch: (max len^2) each.
 */
BERT_MULTIVERSION
void
BertAttentionBackward(float *dq, float *dk, float *dv, float *dscores,
					  float *scratch, const float *dctx, const float *probs,
					  const uint8_t *mask, const float *q, const float *k,
					  const float *v, const BertBatch *b, const int *q_start,
					  int h, int heads, float p)
{
	int			d = h / heads;
	float		scale = 1.0f / sqrtf((float) d);
	size_t		poff = 0;

	if (q_start == NULL)
		q_start = b->seq_start;
	for (int s = 0; s < b->num_seqs; s++)
	{
		int			first = b->seq_start[s];
		int			len = b->seq_start[s + 1] - first;
		int			nq = q_start[s + 1] - q_start[s];

		for (int head = 0; head < heads; head++)
		{
			size_t		off = (size_t) first * h + (size_t) head * d;
			size_t		qoff = (size_t) q_start[s] * h + (size_t) head * d;
			const float *P = probs + poff;
			const float *used = P;

			if (p > 0.0f)
			{
				float		keep = 1.0f / (1.0f - p);
				const uint8_t *m = mask + poff;

				for (size_t i = 0; i < (size_t) nq * len; i++)
					scratch[i] = m[i] ? P[i] * keep : 0.0f;
				used = scratch;
			}
			/* dV_h (len, d) = Pd^T (len, nq) dctx_h (nq, d) */
			BertSgemmTrans(1, 0, len, d, nq, 1.0f, used, len, dctx + qoff, h,
						   0.0f, dv + off, h);
			/* dPd (nq, len) = dctx_h V_h^T */
			BertSgemm(1, nq, len, d, 1.0f, dctx + qoff, h, v + off, h, 0.0f,
					  dscores, len);
			if (p > 0.0f)
				BertDropoutBackward(dscores, mask + poff, (size_t) nq * len, p);
			for (int i = 0; i < nq; i++)
			{
				const float *pi = P + (size_t) i * len;
				float	   *di = dscores + (size_t) i * len;
				float		dot = 0.0f;

#pragma omp simd reduction(+:dot)
				for (int j = 0; j < len; j++)
					dot += pi[j] * di[j];
				for (int j = 0; j < len; j++)
					di[j] = pi[j] * (di[j] - dot);
			}
			/* dQ_h (nq, d) = dS K_h * scale; dK_h (len, d) = dS^T Q_h * scale */
			BertSgemm(0, nq, d, len, scale, dscores, len, k + off, h, 0.0f,
					  dq + qoff, h);
			BertSgemmTrans(1, 0, len, d, nq, scale, dscores, len, q + qoff, h,
						   0.0f, dk + off, h);
			poff += (size_t) nq * len;
		}
	}
}

/* ----------------------------------------------------------------
 * Cross-entropy over classes, with ignored rows (label -100)
 * ---------------------------------------------------------------- */

/*
 * probs (rows, classes) = softmax(logits) (the inference kernel; probs may
 * be logits); returns the sum over rows with a label of
 * -log softmax(logits)[label], computed as logsumexp - logit in double.
 * *targets: rows with a label; *correct: of which the argmax is the label.
 */
double
BertCrossEntropyForward(float *probs, const float *logits,
						const int32_t *labels, int rows, int classes,
						int *targets, int *correct)
{
	double		loss = 0.0;

	for (int i = 0; i < rows; i++)
	{
		const float *l = logits + (size_t) i * classes;
		float	   *p = probs + (size_t) i * classes;

		if (labels[i] != BERT_IGNORE_INDEX)
		{
			int			best = 0;
			double		max,
						sum = 0.0;

			for (int j = 1; j < classes; j++)
				if (l[j] > l[best])
					best = j;
			max = l[best];
			for (int j = 0; j < classes; j++)
				sum += exp((double) l[j] - max);
			loss += log(sum) + max - l[labels[i]];
			(*targets)++;
			*correct += (best == labels[i]);
		}
		if (p != l)
			memcpy(p, l, sizeof(float) * classes);
		BertSoftmax(p, classes);
	}
	return loss;
}

/*
 * dlogits (rows, classes) = (probs - onehot(label)) * scale; zero for
 * ignored rows.  scale is 1 / the number of rows averaged over.
 * dlogits may be probs.
 */
void
BertCrossEntropyBackward(float *dlogits, const float *probs,
						 const int32_t *labels, int rows, int classes,
						 float scale)
{
	for (int i = 0; i < rows; i++)
	{
		float	   *d = dlogits + (size_t) i * classes;
		const float *pr = probs + (size_t) i * classes;

		if (labels[i] == BERT_IGNORE_INDEX)
		{
			memset(d, 0, sizeof(float) * classes);
			continue;
		}
		for (int j = 0; j < classes; j++)
			d[j] = pr[j] * scale;
		d[labels[i]] -= scale;
	}
}
