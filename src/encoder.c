/*
 * encoder.c
 *		The Transformer encoder: embeddings, self-attention, feed-forward,
 *		layer normalisation (Vaswani et al. 2017; Devlin et al. 2019).
 *
 * Follows Hugging Face BertModel / DistilBertModel (post-LayerNorm blocks):
 *	 x = LayerNorm(word + position [+ token_type] embeddings)
 *	 per layer:
 *	   a = LayerNorm(x + Attention(x) W_o + b_o)
 *	   x = LayerNorm(a + act(a W_i + b_i) W_out + b_out)
 * DistilBERT has the same block under other names and no token types.
 *
 * Sequences of a batch are packed row after row without padding: the linear
 * maps run once over all rows, attention runs per sequence and per head, so
 * no row attends outside its own sequence and no attention mask is needed.
 * All matrix products go to OpenBLAS (the linear maps in the way
 * gemm_plan.c chose for this CPU); the elementwise kernels are compiled
 * for the x86-64 feature levels v4 (AVX-512), v3 (AVX2 + FMA) and the
 * baseline, picked by CPU features at load time (target_clones), so the
 * library runs on any x86-64 CPU and uses AVX-512 where there is one.
 * Reductions carry "omp simd" so they vectorise without -ffast-math.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "bert.h"
#include "gemm_plan.h"
#include "vecmath.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BERT_MULTIVERSION \
	__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BERT_MULTIVERSION
#endif

/* Grows the scratch buffers to hold `rows` token rows (never shrinks). */
void
BertActivationsReserve(BertActivations *act, const BertConfig *cfg, int rows)
{
	size_t		h = (size_t) cfg->hidden_size;
	size_t		n;

	if (act->capacity >= rows && act->hidden_size == cfg->hidden_size &&
		act->intermediate_size == cfg->intermediate_size)
		return;
	if (act->hidden)
	{
		pfree(act->hidden);
		pfree(act->query);
		pfree(act->key);
		pfree(act->value);
		pfree(act->context);
		pfree(act->attn_out);
		pfree(act->inter);
		pfree(act->scores);
	}
	n = mul_size(rows, h * sizeof(float));
	act->hidden = MemoryContextAllocHuge(act->memory, n);
	act->query = MemoryContextAllocHuge(act->memory, n);
	act->key = MemoryContextAllocHuge(act->memory, n);
	act->value = MemoryContextAllocHuge(act->memory, n);
	act->context = MemoryContextAllocHuge(act->memory, n);
	act->attn_out = MemoryContextAllocHuge(act->memory, n);
	act->inter = MemoryContextAllocHuge(act->memory,
										mul_size(mul_size(rows, cfg->intermediate_size),
												 sizeof(float)));
	act->scores = MemoryContextAllocHuge(act->memory,
										 mul_size(mul_size(rows, rows), sizeof(float)));
	act->capacity = rows;
	act->hidden_size = cfg->hidden_size;
	act->intermediate_size = cfg->intermediate_size;
}

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
 * y = x W^T + b (+ residual) for a layer weight, given as stored (w) and/or
 * transposed (wt), by the model's plan.
 */
static void
layer_linear(const BertWeights *weights, float *y, const float *x,
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

/*
 * Embedding rows of the batch into act->hidden: word + position (+ token
 * type), positions counted from 0 in each sequence, then LayerNorm.
 * Ids were bounded by the tokenizer and positions by the length limit.
 */
static void
embed(const BertConfig *cfg, const BertWeights *w, BertActivations *act,
	  const BertBatch *batch)
{
	int			h = cfg->hidden_size;

	for (int s = 0; s < batch->num_seqs; s++)
	{
		for (int row = batch->seq_start[s]; row < batch->seq_start[s + 1]; row++)
		{
			float	   *x = act->hidden + (size_t) row * h;
			const float *word = w->word_embeddings + (size_t) batch->input_ids[row] * h;
			const float *pos = w->position_embeddings +
				(size_t) (row - batch->seq_start[s]) * h;

			for (int j = 0; j < h; j++)
				x[j] = word[j] + pos[j];
			if (w->token_type_embeddings)
			{
				const float *type = w->token_type_embeddings +
					(size_t) batch->token_type_ids[row] * h;

				for (int j = 0; j < h; j++)
					x[j] += type[j];
			}
		}
	}
	BertLayerNorm(act->hidden, w->emb_ln_g, w->emb_ln_b, batch->total_tokens, h,
				  cfg->layer_norm_eps);
}

/*
 * Scaled dot-product attention of every sequence and head:
 * context_h = softmax(Q_h K_h^T / sqrt(d_head)) V_h, one head's (len, len)
 * score matrix at a time.
 */
static void
attention(const BertConfig *cfg, BertActivations *act, const BertBatch *batch)
{
	int			h = cfg->hidden_size;
	int			heads = cfg->num_attention_heads;
	int			d = h / heads;
	float		scale = 1.0f / sqrtf((float) d);

	for (int s = 0; s < batch->num_seqs; s++)
	{
		int			first = batch->seq_start[s];
		int			len = batch->seq_start[s + 1] - first;

		for (int head = 0; head < heads; head++)
		{
			size_t		off = (size_t) first * h + (size_t) head * d;

			BertSgemm(1, len, len, d, scale, act->query + off, h,
					  act->key + off, h, 0.0f, act->scores, len);
			for (int i = 0; i < len; i++)
				BertSoftmax(act->scores + (size_t) i * len, len);
			BertSgemm(0, len, d, len, 1.0f, act->scores, len,
					  act->value + off, h, 0.0f, act->context + off, h);
		}
	}
}

/*
 * Runs the encoder over a packed batch; act->hidden then holds
 * last_hidden_state (total_tokens, hidden).  Checks for query cancel before
 * every layer.
 */
void
BertEncoderForward(const BertConfig *cfg, const BertWeights *w,
				   BertActivations *act, const BertBatch *batch)
{
	int			rows = batch->total_tokens;
	int			h = cfg->hidden_size;
	int			inter = cfg->intermediate_size;
	int			longest = 0;

	for (int s = 0; s < batch->num_seqs; s++)
		longest = Max(longest, batch->seq_start[s + 1] - batch->seq_start[s]);
	BertActivationsReserve(act, cfg, Max(rows, longest));

	embed(cfg, w, act, batch);
	for (int l = 0; l < cfg->num_hidden_layers; l++)
	{
		const BertLayerWeights *lw = &w->layers[l];

		CHECK_FOR_INTERRUPTS();
		layer_linear(w, act->query, act->hidden, lw->query_w, lw->query_wt,
					 lw->query_b, NULL, rows, h, h);
		layer_linear(w, act->key, act->hidden, lw->key_w, lw->key_wt,
					 lw->key_b, NULL, rows, h, h);
		layer_linear(w, act->value, act->hidden, lw->value_w, lw->value_wt,
					 lw->value_b, NULL, rows, h, h);
		attention(cfg, act, batch);
		layer_linear(w, act->attn_out, act->context, lw->attn_out_w,
					 lw->attn_out_wt, lw->attn_out_b, act->hidden, rows, h, h);
		BertLayerNorm(act->attn_out, lw->attn_ln_g, lw->attn_ln_b, rows, h,
					  cfg->layer_norm_eps);
		layer_linear(w, act->inter, act->attn_out, lw->inter_w, lw->inter_wt,
					 lw->inter_b, NULL, rows, h, inter);
		BertActivate(act->inter, (size_t) rows * inter, cfg->hidden_act);
		layer_linear(w, act->hidden, act->inter, lw->out_w, lw->out_wt,
					 lw->out_b, act->attn_out, rows, inter, h);
		BertLayerNorm(act->hidden, lw->out_ln_g, lw->out_ln_b, rows, h,
					  cfg->layer_norm_eps);
	}
}
