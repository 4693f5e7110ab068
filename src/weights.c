/*
 * weights.c
 *		The tensor names of BERT and DistilBERT checkpoints, as data: one
 *		row per BertWeights / BertLayerWeights field with its Hugging Face
 *		name in each family and its shape in terms of config.json.
 *
 * Pure C (no ereport): the caller's binder finds, checks and converts each
 * tensor and reports what is wrong, so the extension's loader and the
 * standalone test programs bind weights from the same table.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <stddef.h>

#include "weights.h"

/* A dimension, named by the config.json value it comes from. */
typedef enum TensorDim
{
	DIM_1D,						/* no second dimension */
	DIM_HIDDEN,
	DIM_INTERMEDIATE,
	DIM_VOCAB,
	DIM_POSITIONS,
	DIM_TYPES,
	DIM_LABELS,
	DIM_TWO						/* QA start/end, NSP is-next/not-next */
} TensorDim;

/* Heads a row applies to (bit 1 << BertHeadKind); HEADS_ALL for the encoder. */
#define HEAD(k) (1u << (k))
#define HEADS_ALL 0xffffffffu

typedef struct TensorSpec
{
	size_t		offset;			/* of the field in BertWeights or
								 * BertLayerWeights */
	const char *bert;			/* BERT name; NULL: DistilBERT only */
	const char *distil;			/* DistilBERT name; NULL: BERT only */
	TensorDim	d0;
	TensorDim	d1;
	int			flags;			/* BERT_TENSOR_*, LINEAR */
	uint32_t	heads;			/* HEAD() bits of the heads that need it */
	size_t		transposed;		/* with LINEAR: offset of the *_wt field */
} TensorSpec;

/* a layer weight that may be bound transposed (TensorSpec.transposed) */
#define LINEAR 0x100

#define P_R (BERT_TENSOR_PREFIXED | BERT_TENSOR_REQUIRED)
#define P_R_LINEAR (P_R | LINEAR)
#define W(f) offsetof(BertWeights, f)
#define L(f) offsetof(BertLayerWeights, f)

/* Embeddings (prefixed: "bert.embeddings..." or "embeddings..."). */
static const TensorSpec embedding_tensors[] = {
	{W(word_embeddings), "embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight", DIM_VOCAB, DIM_HIDDEN, P_R, HEADS_ALL, 0},
	{W(position_embeddings), "embeddings.position_embeddings.weight", "embeddings.position_embeddings.weight", DIM_POSITIONS, DIM_HIDDEN, P_R, HEADS_ALL, 0},
	{W(token_type_embeddings), "embeddings.token_type_embeddings.weight", NULL, DIM_TYPES, DIM_HIDDEN, P_R, HEADS_ALL, 0},
	{W(emb_ln_g), "embeddings.LayerNorm.weight", "embeddings.LayerNorm.weight", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{W(emb_ln_b), "embeddings.LayerNorm.bias", "embeddings.LayerNorm.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
};

/*
 * One encoder layer; names follow "encoder.layer.N." (BERT) or
 * "transformer.layer.N." (DistilBERT).
 */
static const TensorSpec layer_tensors[] = {
	{L(query_w), "attention.self.query.weight", "attention.q_lin.weight", DIM_HIDDEN, DIM_HIDDEN, P_R_LINEAR, HEADS_ALL, L(query_wt)},
	{L(query_b), "attention.self.query.bias", "attention.q_lin.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(key_w), "attention.self.key.weight", "attention.k_lin.weight", DIM_HIDDEN, DIM_HIDDEN, P_R_LINEAR, HEADS_ALL, L(key_wt)},
	{L(key_b), "attention.self.key.bias", "attention.k_lin.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(value_w), "attention.self.value.weight", "attention.v_lin.weight", DIM_HIDDEN, DIM_HIDDEN, P_R_LINEAR, HEADS_ALL, L(value_wt)},
	{L(value_b), "attention.self.value.bias", "attention.v_lin.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(attn_out_w), "attention.output.dense.weight", "attention.out_lin.weight", DIM_HIDDEN, DIM_HIDDEN, P_R_LINEAR, HEADS_ALL, L(attn_out_wt)},
	{L(attn_out_b), "attention.output.dense.bias", "attention.out_lin.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(attn_ln_g), "attention.output.LayerNorm.weight", "sa_layer_norm.weight", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(attn_ln_b), "attention.output.LayerNorm.bias", "sa_layer_norm.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(inter_w), "intermediate.dense.weight", "ffn.lin1.weight", DIM_INTERMEDIATE, DIM_HIDDEN, P_R_LINEAR, HEADS_ALL, L(inter_wt)},
	{L(inter_b), "intermediate.dense.bias", "ffn.lin1.bias", DIM_INTERMEDIATE, DIM_1D, P_R, HEADS_ALL, 0},
	{L(out_w), "output.dense.weight", "ffn.lin2.weight", DIM_HIDDEN, DIM_INTERMEDIATE, P_R_LINEAR, HEADS_ALL, L(out_wt)},
	{L(out_b), "output.dense.bias", "ffn.lin2.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(out_ln_g), "output.LayerNorm.weight", "output_layer_norm.weight", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
	{L(out_ln_b), "output.LayerNorm.bias", "output_layer_norm.bias", DIM_HIDDEN, DIM_1D, P_R, HEADS_ALL, 0},
};

#define SEQ HEAD(BERT_HEAD_SEQUENCE_CLASSIFICATION)
#define TOK HEAD(BERT_HEAD_TOKEN_CLASSIFICATION)
#define QA HEAD(BERT_HEAD_QUESTION_ANSWERING)
#define PRE HEAD(BERT_HEAD_PRETRAINING)
#define MLM HEAD(BERT_HEAD_MASKED_LM)
#define R BERT_TENSOR_REQUIRED

/*
 * Head tensors, unprefixed.  The BERT pooler is bound separately (it is
 * optional for some heads); the masked-LM decoder weight is optional
 * (tied to the word embeddings when absent).
 */
static const TensorSpec head_tensors[] = {
	{W(pre_classifier_w), NULL, "pre_classifier.weight", DIM_HIDDEN, DIM_HIDDEN, R, SEQ, 0},
	{W(pre_classifier_b), NULL, "pre_classifier.bias", DIM_HIDDEN, DIM_1D, R, SEQ, 0},
	{W(classifier_w), "classifier.weight", "classifier.weight", DIM_LABELS, DIM_HIDDEN, R, SEQ | TOK, 0},
	{W(classifier_b), "classifier.bias", "classifier.bias", DIM_LABELS, DIM_1D, R, SEQ | TOK, 0},
	{W(qa_w), "qa_outputs.weight", "qa_outputs.weight", DIM_TWO, DIM_HIDDEN, R, QA, 0},
	{W(qa_b), "qa_outputs.bias", "qa_outputs.bias", DIM_TWO, DIM_1D, R, QA, 0},
	{W(nsp_w), "cls.seq_relationship.weight", "cls.seq_relationship.weight", DIM_TWO, DIM_HIDDEN, R, PRE, 0},
	{W(nsp_b), "cls.seq_relationship.bias", "cls.seq_relationship.bias", DIM_TWO, DIM_1D, R, PRE, 0},
	{W(mlm_dense_w), "cls.predictions.transform.dense.weight", "vocab_transform.weight", DIM_HIDDEN, DIM_HIDDEN, R, PRE | MLM, 0},
	{W(mlm_dense_b), "cls.predictions.transform.dense.bias", "vocab_transform.bias", DIM_HIDDEN, DIM_1D, R, PRE | MLM, 0},
	{W(mlm_ln_g), "cls.predictions.transform.LayerNorm.weight", "vocab_layer_norm.weight", DIM_HIDDEN, DIM_1D, R, PRE | MLM, 0},
	{W(mlm_ln_b), "cls.predictions.transform.LayerNorm.bias", "vocab_layer_norm.bias", DIM_HIDDEN, DIM_1D, R, PRE | MLM, 0},
	{W(mlm_decoder_w), "cls.predictions.decoder.weight", "vocab_projector.weight", DIM_VOCAB, DIM_HIDDEN, 0, PRE | MLM, 0},
	{W(mlm_decoder_b), "cls.predictions.bias", "vocab_projector.bias", DIM_VOCAB, DIM_1D, R, PRE | MLM, 0},
};

/* The size a TensorDim stands for in cfg; BERT_TENSOR_1D for DIM_1D. */
static int64_t
dim_size(const BertConfig *cfg, TensorDim d)
{
	switch (d)
	{
		case DIM_1D:
			return BERT_TENSOR_1D;
		case DIM_HIDDEN:
			return cfg->hidden_size;
		case DIM_INTERMEDIATE:
			return cfg->intermediate_size;
		case DIM_VOCAB:
			return cfg->vocab_size;
		case DIM_POSITIONS:
			return cfg->max_position_embeddings;
		case DIM_TYPES:
			return cfg->type_vocab_size;
		case DIM_LABELS:
			return cfg->num_labels;
		case DIM_TWO:
			return 2;
	}
	return 0;
}

/*
 * Binds the rows of `specs` that cfg's family has and cfg's head needs into
 * the struct at `base`; `name_prefix` goes before each name (the layer's
 * "encoder.layer.N.").
 */
static void
bind_table(const BertConfig *cfg, const TensorSpec *specs, int n, char *base,
		   const char *name_prefix, BertTensorBinder bind, void *arg)
{
	bool		distil = (cfg->family == BERT_FAMILY_DISTILBERT);
	char		name[256];

	for (int i = 0; i < n; i++)
	{
		const TensorSpec *s = &specs[i];
		const char *suffix = distil ? s->distil : s->bert;

		if (suffix == NULL || (s->heads & HEAD(cfg->head)) == 0)
			continue;
		snprintf(name, sizeof(name), "%s%s", name_prefix, suffix);
		*(const float **) (base + s->offset) =
			bind(arg, name, s->flags & ~LINEAR, dim_size(cfg, s->d0),
				 dim_size(cfg, s->d1),
				 (s->flags & LINEAR) ? (const float **) (base + s->transposed) : NULL);
	}
}

void
BertBindWeights(const BertConfig *cfg, BertWeights *w, BertTensorBinder bind,
				void *arg)
{
	bool		distil = (cfg->family == BERT_FAMILY_DISTILBERT);
	char		layer_prefix[64];

	bind_table(cfg, embedding_tensors, lengthof(embedding_tensors), (char *) w,
			   "", bind, arg);
	w->layers = palloc0(sizeof(BertLayerWeights) * cfg->num_hidden_layers);
	for (int i = 0; i < cfg->num_hidden_layers; i++)
	{
		snprintf(layer_prefix, sizeof(layer_prefix),
				 distil ? "transformer.layer.%d." : "encoder.layer.%d.", i);
		bind_table(cfg, layer_tensors, lengthof(layer_tensors),
				   (char *) &w->layers[i], layer_prefix, bind, arg);
	}

	/*
	 * The BERT pooler: classification and pre-training read it; other heads
	 * (and BertModel, for bert_pooler_output) take it when it is there, but
	 * a weight without its bias is a broken file.
	 */
	if (!distil)
	{
		bool		needed = (cfg->head == BERT_HEAD_SEQUENCE_CLASSIFICATION ||
							  cfg->head == BERT_HEAD_PRETRAINING);

		w->pooler_w = bind(arg, "pooler.dense.weight",
						   BERT_TENSOR_PREFIXED | (needed ? BERT_TENSOR_REQUIRED : 0),
						   cfg->hidden_size, cfg->hidden_size, NULL);
		w->pooler_b = bind(arg, "pooler.dense.bias",
						   BERT_TENSOR_PREFIXED |
						   ((needed || w->pooler_w) ? BERT_TENSOR_REQUIRED : 0),
						   cfg->hidden_size, BERT_TENSOR_1D, NULL);
	}
	bind_table(cfg, head_tensors, lengthof(head_tensors), (char *) w, "",
			   bind, arg);
	/* decoder tied to the input embeddings unless saved on its own */
	if ((cfg->head == BERT_HEAD_PRETRAINING || cfg->head == BERT_HEAD_MASKED_LM) &&
		w->mlm_decoder_w == NULL)
		w->mlm_decoder_w = w->word_embeddings;
}
