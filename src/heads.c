/*
 * heads.c
 *		What sits on top of last_hidden_state: pooling, L2 normalisation and
 *		the task heads of Hugging Face's Bert* / DistilBert* classes.
 *
 * Pure maths over the model's weights; callers own every output and scratch
 * buffer.
 */
#include "postgres.h"

#include <math.h>

#include "bert.h"
#include "heads.h"
#include "nn_ops.h"

/*
 * Sentence embedding (hidden) of one sequence's hidden states (rows, hidden):
 * mean over all tokens, the first ([CLS]) token, or the element-wise max, as
 * sentence-transformers' Pooling module.
 */
void
BertPool(float *out, const float *hidden, int rows, int hidden_size,
		 BertPooling pooling)
{
	switch (pooling)
	{
		case BERT_POOLING_CLS:
			memcpy(out, hidden, hidden_size * sizeof(float));
			break;
		case BERT_POOLING_MAX:
			memcpy(out, hidden, hidden_size * sizeof(float));
			for (int i = 1; i < rows; i++)
				for (int j = 0; j < hidden_size; j++)
					out[j] = Max(out[j], hidden[(size_t) i * hidden_size + j]);
			break;
		case BERT_POOLING_MEAN:
			memset(out, 0, hidden_size * sizeof(float));
			for (int i = 0; i < rows; i++)
				for (int j = 0; j < hidden_size; j++)
					out[j] += hidden[(size_t) i * hidden_size + j];
			for (int j = 0; j < hidden_size; j++)
				out[j] /= rows;
			break;
	}
}

/* x / max(||x||, 1e-12), as torch.nn.functional.normalize. */
void
BertL2Normalize(float *x, int n)
{
	double		sum = 0.0;
	float		inv;

	for (int i = 0; i < n; i++)
		sum += (double) x[i] * x[i];
	inv = 1.0f / (float) Max(sqrt(sum), 1e-12);
	for (int i = 0; i < n; i++)
		x[i] *= inv;
}

/* pooler_output (hidden) = tanh(W_pool h_[CLS] + b_pool) (BertPooler). */
void
BertPoolerOutput(float *out, const BertConfig *cfg, const BertWeights *w,
				 const float *cls_row)
{
	BertLinear(out, cls_row, w->pooler_w, w->pooler_b, 1,
			   cfg->hidden_size, cfg->hidden_size);
	for (int j = 0; j < cfg->hidden_size; j++)
		out[j] = tanhf(out[j]);
}

/*
 * logits (num_labels) of a sequence classifier from its hidden states
 * (first row = [CLS]).  BertForSequenceClassification: classifier(pooler);
 * DistilBertForSequenceClassification: classifier(ReLU(pre_classifier(h0))).
 * scratch: (hidden).
 */
void
BertSequenceLogits(float *logits, float *scratch, const BertConfig *cfg,
				   const BertWeights *w, const float *hidden)
{
	int			h = cfg->hidden_size;
	float	   *feature = scratch;

	if (cfg->family == BERT_FAMILY_DISTILBERT)
	{
		BertLinear(feature, hidden, w->pre_classifier_w, w->pre_classifier_b,
				   1, h, h);
		BertActivate(feature, h, BERT_ACT_RELU);
	}
	else
		BertPoolerOutput(feature, cfg, w, hidden);
	BertLinear(logits, feature, w->classifier_w, w->classifier_b, 1, h,
			   cfg->num_labels);
}

/* logits (rows, num_labels) of a token classifier: classifier(h_i). */
void
BertTokenLogits(float *logits, const BertConfig *cfg, const BertWeights *w,
				const float *hidden, int rows)
{
	BertLinear(logits, hidden, w->classifier_w, w->classifier_b, rows,
			   cfg->hidden_size, cfg->num_labels);
}

/*
 * logits (vocab) of the masked-LM head at one position
 * (BertLMPredictionHead): decoder(LayerNorm(act(dense(h)))) + bias, the
 * decoder tied to the word embeddings unless the file has its own.
 * scratch: (hidden).
 */
void
BertMaskedLmLogits(float *logits, float *scratch, const BertConfig *cfg,
				   const BertWeights *w, const float *hidden_row)
{
	int			h = cfg->hidden_size;

	BertLinear(scratch, hidden_row, w->mlm_dense_w, w->mlm_dense_b, 1, h, h);
	BertActivate(scratch, h, cfg->hidden_act);
	BertLayerNorm(scratch, w->mlm_ln_g, w->mlm_ln_b, 1, h, cfg->layer_norm_eps);
	BertLinear(logits, scratch, w->mlm_decoder_w, w->mlm_decoder_b, 1, h,
			   cfg->vocab_size);
}

/*
 * Next-sentence logits (2): seq_relationship(pooler_output); index 0 means
 * "B follows A" (BertOnlyNSPHead).  scratch: (hidden).
 */
void
BertNextSentenceLogits(float *logits, float *scratch, const BertConfig *cfg,
					   const BertWeights *w, const float *hidden)
{
	BertPoolerOutput(scratch, cfg, w, hidden);
	BertLinear(logits, scratch, w->nsp_w, w->nsp_b, 1, cfg->hidden_size, 2);
}

/*
 * start/end logits (rows) of extractive QA: qa_outputs(h_i) split in two.
 * scratch: (rows, 2).
 */
void
BertQaLogits(float *start, float *end, float *scratch, const BertConfig *cfg,
			 const BertWeights *w, const float *hidden, int rows)
{
	float	   *both = scratch;

	BertLinear(both, hidden, w->qa_w, w->qa_b, rows, cfg->hidden_size, 2);
	for (int i = 0; i < rows; i++)
	{
		start[i] = both[2 * i];
		end[i] = both[2 * i + 1];
	}
}
