/*
 * bert.h
 *		Shared types of the bert extension: model configuration, weights,
 *		activations and the loaded model.
 *
 * A loaded model (BertModel) owns one memory context.  Everything it points
 * to lives there, except F32 weights, which point straight into the
 * read-only mapping of model.safetensors (unmapped by a reset callback when
 * the context goes).  Shapes are given in comments as (rows, cols) of a
 * row-major float matrix; Hugging Face stores nn.Linear weights as
 * (out_features, in_features).
 *
 * Functions are declared by the header of their subsystem: guc.h, blas.h,
 * model.h, encoder.h, nn_ops.h, heads.h, tokenizer.h, config.h, json.h,
 * safetensors.h, decoder.h, batch.h, retrieval.h and sql_common.h.
 */
#ifndef BERT_H
#define BERT_H

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "tokenizer.h"

#define BERT_MAX_LABELS 1024
#define BERT_MAX_LAYERS 256
#define BERT_MAX_HIDDEN 65536
#define BERT_MAX_POSITIONS 65536
#define BERT_MAX_VOCAB (1 << 24)
#define BERT_MAX_WATCHED_FILES 16	/* files a model is built from */

/* Encoder family: which tensor names and config keys the model uses. */
typedef enum BertFamily
{
	BERT_FAMILY_BERT,			/* BertModel and its heads */
	BERT_FAMILY_DISTILBERT		/* DistilBertModel and its heads */
} BertFamily;

/* Task head on top of the encoder, from config.json "architectures". */
typedef enum BertHeadKind
{
	BERT_HEAD_NONE,				/* BertModel / DistilBertModel */
	BERT_HEAD_SEQUENCE_CLASSIFICATION,
	BERT_HEAD_PRETRAINING,		/* BertForPreTraining: MLM + NSP */
	BERT_HEAD_MASKED_LM,		/* BertForMaskedLM / DistilBertForMaskedLM */
	BERT_HEAD_TOKEN_CLASSIFICATION,
	BERT_HEAD_QUESTION_ANSWERING
} BertHeadKind;

typedef enum BertActivation
{
	BERT_ACT_GELU,				/* exact, erf */
	BERT_ACT_GELU_TANH,			/* gelu_new / gelu_pytorch_tanh */
	BERT_ACT_RELU
} BertActivation;

typedef enum BertPooling
{
	BERT_POOLING_MEAN,
	BERT_POOLING_CLS,
	BERT_POOLING_MAX
} BertPooling;

/* What the model files say (config.json, sentence-transformers files). */
typedef struct BertConfig
{
	char		architecture[64];	/* config.json "architectures"[0] */
	BertFamily	family;
	BertHeadKind head;
	int			vocab_size;
	int			hidden_size;	/* DistilBERT: dim */
	int			num_hidden_layers;	/* DistilBERT: n_layers */
	int			num_attention_heads;	/* DistilBERT: n_heads */
	int			intermediate_size;	/* DistilBERT: hidden_dim */
	int			max_position_embeddings;
	int			type_vocab_size;	/* 0 for DistilBERT */
	float		layer_norm_eps;
	BertActivation hidden_act;	/* DistilBERT: activation */
	int			num_labels;		/* classification heads; 0 otherwise */
	char	  **id2label;		/* (num_labels) */

	/* sentence-transformers modules (defaults when the files are absent) */
	BertPooling pooling;		/* 1_Pooling/config.json; default mean */
	bool		normalize;		/* 2_Normalize in modules.json; default true */
	int			model_max_length;	/* smallest limit the files state */
	char		dtype[8];		/* storage dtype of the weights */
} BertConfig;

/*
 * One encoder layer.  Each of the six matrices of its linear maps comes
 * either as stored, *_w (out, in), or as a transposed copy W^T (in, out),
 * *_wt, prepared in the model's cache file for weight shapes where OpenBLAS
 * runs faster on it (gemm_plan.c): exactly one of the two is NULL.
 */
typedef struct BertLayerWeights
{
	const float *query_w;		/* (hidden, hidden) */
	const float *query_b;		/* (hidden) */
	const float *key_w;			/* (hidden, hidden) */
	const float *key_b;			/* (hidden) */
	const float *value_w;		/* (hidden, hidden) */
	const float *value_b;		/* (hidden) */
	const float *attn_out_w;	/* (hidden, hidden) */
	const float *attn_out_b;	/* (hidden) */
	const float *attn_ln_g;		/* (hidden) */
	const float *attn_ln_b;		/* (hidden) */
	const float *inter_w;		/* (intermediate, hidden) */
	const float *inter_b;		/* (intermediate) */
	const float *out_w;			/* (hidden, intermediate) */
	const float *out_b;			/* (hidden) */
	const float *out_ln_g;		/* (hidden) */
	const float *out_ln_b;		/* (hidden) */

	const float *query_wt;		/* (hidden, hidden) W^T or NULL */
	const float *key_wt;		/* (hidden, hidden) */
	const float *value_wt;		/* (hidden, hidden) */
	const float *attn_out_wt;	/* (hidden, hidden) */
	const float *inter_wt;		/* (hidden, intermediate) */
	const float *out_wt;		/* (intermediate, hidden) */
} BertLayerWeights;

typedef struct BertWeights
{
	const float *word_embeddings;	/* (vocab, hidden) */
	const float *position_embeddings;	/* (max_positions, hidden) */
	const float *token_type_embeddings; /* (type_vocab, hidden); NULL for
										 * DistilBERT */
	const float *emb_ln_g;		/* (hidden) */
	const float *emb_ln_b;		/* (hidden) */
	BertLayerWeights *layers;	/* (num_hidden_layers) */

	/* heads; NULL when the architecture has none */
	const float *pooler_w;		/* (hidden, hidden) */
	const float *pooler_b;		/* (hidden) */
	const float *pre_classifier_w;	/* DistilBERT (hidden, hidden) */
	const float *pre_classifier_b;	/* (hidden) */
	const float *classifier_w;	/* (num_labels, hidden) */
	const float *classifier_b;	/* (num_labels) */
	const float *mlm_dense_w;	/* (hidden, hidden) */
	const float *mlm_dense_b;	/* (hidden) */
	const float *mlm_ln_g;		/* (hidden) */
	const float *mlm_ln_b;		/* (hidden) */
	const float *mlm_decoder_w; /* (vocab, hidden); tied: word_embeddings */
	const float *mlm_decoder_b; /* (vocab) */
	const float *nsp_w;			/* (2, hidden) */
	const float *nsp_b;			/* (2) */
	const float *qa_w;			/* (2, hidden) */
	const float *qa_b;			/* (2) */

	/* how the layer products call OpenBLAS (gemm_plan.h) */
	const struct BertGemmPlan *gemm_plan;
} BertWeights;

/*
 * Scratch buffers of the forward pass, reused across calls and grown to the
 * largest number of token rows seen.
 */
typedef struct BertActivations
{
	void	   *memory;			/* MemoryContext the buffers live in */
	int			capacity;		/* rows allocated */
	int			hidden_size;
	int			intermediate_size;
	float	   *hidden;			/* (capacity, hidden) last_hidden_state */
	float	   *query;			/* (capacity, hidden) */
	float	   *key;			/* (capacity, hidden) */
	float	   *value;			/* (capacity, hidden) */
	float	   *context;		/* (capacity, hidden) */
	float	   *attn_out;		/* (capacity, hidden) */
	float	   *inter;			/* (capacity, intermediate) */
	float	   *scores;			/* (capacity, capacity) one head */
} BertActivations;

/* A batch of sequences packed row after row, without padding. */
typedef struct BertBatch
{
	int			num_seqs;
	int			total_tokens;
	const int  *seq_start;		/* (num_seqs + 1) first row of each seq */
	const int32_t *input_ids;	/* (total_tokens) */
	const int32_t *token_type_ids;	/* (total_tokens) */
} BertBatch;

/* Mapped weights file. */
typedef struct BertMapping
{
	void	   *base;
	size_t		length;
	volatile sig_atomic_t faulted;	/* shrank under the mapping (sigbus_guard.c) */
	volatile sig_atomic_t *also_faulted;	/* flagged with it, or NULL */
} BertMapping;

/*
 * What stat() says of a file: identity and version, or why there is none.
 * ctime catches an edit in place that restored the mtime.
 */
typedef struct BertFileIdentity
{
	int			error;			/* 0, or the errno of stat(): ENOENT... */
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	struct timespec ctime;
} BertFileIdentity;

/* A file a model was built from (or looked for and did not find). */
typedef struct BertWatchedFile
{
	char	   *path;			/* absolute, under the model directory */
	const char *name;			/* the same, relative to the directory */
	BertFileIdentity id;		/* as it was when read */
} BertWatchedFile;

/* Where a model's weights are read from (bert_models().weights). */
typedef enum BertWeightsCopy
{
	BERT_WEIGHTS_MODEL_FILE,	/* F32, in place in model.safetensors */
	BERT_WEIGHTS_SHARED_CACHE,	/* prepared cache file, mapped shared */
	BERT_WEIGHTS_PRIVATE		/* upcast into this backend's memory */
} BertWeightsCopy;

/* A loaded model directory. */
typedef struct BertModel
{
	char	   *name;			/* as the user wrote it */
	char	   *path;			/* model directory, resolved */
	BertConfig	config;
	BertTokenizer tokenizer;
	BertWeights weights;
	BertMapping mapping;
	BertActivations act;
	BertWatchedFile watched[BERT_MAX_WATCHED_FILES];	/* every file opened
														 * or looked for */
	int			n_watched;
	size_t		file_bytes;		/* size of model.safetensors */
	size_t		converted_bytes;	/* private copies (F16/BF16 upcast) */
	double		load_ms;

	/* the prepared copy (weight_cache.c) */
	BertWeightsCopy weights_copy;
	size_t		shared_bytes;	/* weights read from shared mappings */
	BertMapping cache_mapping;	/* the cache file; base NULL if none */
	char	   *cache_file;		/* its path, or NULL */
	struct BertPrepared *prepared;	/* weight_cache.c's state, or NULL */
	void	   *memory;			/* MemoryContext owning all of it */
} BertModel;

#endif							/* BERT_H */
