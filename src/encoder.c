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
 * gemm_plan.c chose for this CPU); the layer operations (nn.Linear,
 * LayerNorm, activations, softmax) are in nn_ops.c.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "bert.h"
#include "blas.h"
#include "encoder.h"
#include "nn_ops.h"

/*
 * How many of inputs[0..n) (n >= 1) go in one pass of at most max_rows
 * token rows: those that fit, and always at least the first, so an input
 * longer than max_rows gets a pass of its own.
 */
int
BertPackCount(const BertInput *inputs, int n, int max_rows)
{
	int			count = 1;
	int64		rows = inputs[0].len;

	while (count < n && rows + inputs[count].len <= max_rows)
		rows += inputs[count++].len;
	return count;
}

/*
 * Packs inputs[0..n) row after row into p->batch: ids and token types
 * copied, seq_start[i] the first row of input i.  p is zeroed before its
 * first use; its arrays are kept and grown across calls.
 */
void
BertPackInputs(BertPacked *p, const BertInput *inputs, int n)
{
	int			rows = 0;

	for (int i = 0; i < n; i++)
		rows += inputs[i].len;
	if (p->seq_start == NULL || p->seqs_cap < n)
	{
		p->seq_start = p->seq_start ? repalloc(p->seq_start, sizeof(int) * (n + 1))
			: palloc(sizeof(int) * (n + 1));
		p->seqs_cap = n;
	}
	if (p->ids == NULL || p->rows_cap < rows)
	{
		size_t		bytes = sizeof(int32_t) * Max(rows, 1);

		p->ids = p->ids ? repalloc(p->ids, bytes) : palloc(bytes);
		p->types = p->types ? repalloc(p->types, bytes) : palloc(bytes);
		p->rows_cap = rows;
	}
	rows = 0;
	for (int i = 0; i < n; i++)
	{
		p->seq_start[i] = rows;
		memcpy(p->ids + rows, inputs[i].input_ids, sizeof(int32_t) * inputs[i].len);
		memcpy(p->types + rows, inputs[i].token_type_ids, sizeof(int32_t) * inputs[i].len);
		rows += inputs[i].len;
	}
	p->seq_start[n] = rows;
	p->batch.num_seqs = n;
	p->batch.total_tokens = rows;
	p->batch.seq_start = p->seq_start;
	p->batch.input_ids = p->ids;
	p->batch.token_type_ids = p->types;
}

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

/*
 * Embedding rows of the batch into act->hidden: word + position (+ token
 * type), positions counted from 0 in each sequence, then LayerNorm.
 * Callers bound the ids (the tokenizer's vocabulary is checked against
 * vocab_size at load; pairs against type_vocab_size by BertRequirePairs())
 * and the positions (the length limit); each lookup is still checked
 * against its table, as a can't-happen error, before it is read.
 */
static void
embed(const BertConfig *cfg, const BertWeights *w, BertActivations *act,
	  const BertBatch *batch)
{
	int			h = cfg->hidden_size;

	for (int s = 0; s < batch->num_seqs; s++)
	{
		if (batch->seq_start[s + 1] - batch->seq_start[s] > cfg->max_position_embeddings)
			elog(ERROR, "sequence of %d tokens is longer than the %d position embeddings",
				 batch->seq_start[s + 1] - batch->seq_start[s],
				 cfg->max_position_embeddings);
		for (int row = batch->seq_start[s]; row < batch->seq_start[s + 1]; row++)
		{
			float	   *x = act->hidden + (size_t) row * h;
			int32		id = batch->input_ids[row];
			const float *word;
			const float *pos = w->position_embeddings +
				(size_t) (row - batch->seq_start[s]) * h;

			if (id < 0 || id >= cfg->vocab_size)
				elog(ERROR, "token id %d is outside the %d rows of word_embeddings",
					 id, cfg->vocab_size);
			word = w->word_embeddings + (size_t) id * h;
			for (int j = 0; j < h; j++)
				x[j] = word[j] + pos[j];
			if (w->token_type_embeddings)
			{
				int32		t = batch->token_type_ids[row];
				const float *type;

				if (t < 0 || t >= cfg->type_vocab_size)
					elog(ERROR, "token type id %d is outside the %d rows of token_type_embeddings",
						 t, cfg->type_vocab_size);
				type = w->token_type_embeddings + (size_t) t * h;

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
		BertLayerLinear(w, act->query, act->hidden, lw->query_w, lw->query_wt,
						lw->query_b, NULL, rows, h, h);
		BertLayerLinear(w, act->key, act->hidden, lw->key_w, lw->key_wt,
						lw->key_b, NULL, rows, h, h);
		BertLayerLinear(w, act->value, act->hidden, lw->value_w, lw->value_wt,
						lw->value_b, NULL, rows, h, h);
		attention(cfg, act, batch);
		BertLayerLinear(w, act->attn_out, act->context, lw->attn_out_w,
						lw->attn_out_wt, lw->attn_out_b, act->hidden, rows, h, h);
		BertLayerNorm(act->attn_out, lw->attn_ln_g, lw->attn_ln_b, rows, h,
					  cfg->layer_norm_eps);
		BertLayerLinear(w, act->inter, act->attn_out, lw->inter_w, lw->inter_wt,
						lw->inter_b, NULL, rows, h, inter);
		BertActivate(act->inter, (size_t) rows * inter, cfg->hidden_act);
		BertLayerLinear(w, act->hidden, act->inter, lw->out_w, lw->out_wt,
						lw->out_b, act->attn_out, rows, inter, h);
		BertLayerNorm(act->hidden, lw->out_ln_g, lw->out_ln_b, rows, h,
					  cfg->layer_norm_eps);
	}
}
