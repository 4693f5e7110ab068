/*
 * train.h
 *		The training engine: forward and backward passes of BERT and
 *		DistilBERT with their classification, token-classification and
 *		pre-training heads, AdamW, gradient clipping, the learning-rate
 *		schedule and dropout.
 *
 * Pure C over palloc, like the tokenizer and the file readers: no fmgr code
 * and no ereport, so the same sources build into the standalone
 * test/unit/train_check.  Functions that can fail return an error message
 * (NULL on success) for the caller to report.
 *
 * Layout follows llm.c's train_gpt2.c: every trainable tensor lives in one
 * flat float array (params), with gradients and the two AdamW moments in
 * arrays of the same layout; a BertWeights view points into params, so the
 * inference kernels (BertLinear, BertLayerNorm, BertActivate, BertSoftmax,
 * BertPoolerOutput) run the training forward pass on the trained weights and
 * give the same numbers as inference.  The gradient of any weight pointer p
 * of that view is at grads + (p - params).
 *
 * Sequences are packed row after row without padding, as in inference
 * (BertBatch), so no attention mask and no padded rows exist.
 *
 * Memory: parameters, gradients and moments: 4 x 4 bytes per parameter.
 * Activations of one batch (R token rows, S sequences, L layers, hidden H,
 * intermediate I, A heads, M masked positions, vocabulary V), in floats:
 *	 L (8 R H + 2 R I + A sum(len^2)) + 10 R H + R I + 2 max(len)^2
 *	 + 4 max(S, M) H + 2 max(S, R) C + M (4 H + V)
 * times 4 bytes, plus with dropout one byte per element of the dropped
 * tensors ((2 L + 2) R H + L A sum(len^2)).  BertTrainActivationBytes()
 * gives the figure of the largest batch so far.
 */
#ifndef BERT_TRAIN_H
#define BERT_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bert.h"
#include "safetensors.h"

#define BERT_IGNORE_INDEX (-100)	/* label of a position without a loss */

/* What is trained: the head on top of the encoder and its loss. */
typedef enum BertTask
{
	BERT_TASK_SEQUENCE_CLASSIFICATION,	/* cross-entropy of one label per
										 * sequence */
	BERT_TASK_TOKEN_CLASSIFICATION, /* cross-entropy per token, -100 ignored */
	BERT_TASK_PRETRAINING		/* masked LM + next sentence, summed */
} BertTask;

/* One trainable tensor of the flat parameter array. */
typedef struct BertParam
{
	char		name[96];		/* Hugging Face name, as saved */
	int			ndim;			/* 1 or 2 */
	int64_t		shape[2];		/* (rows[, cols]) */
	size_t		offset;			/* first float in params / grads */
	size_t		count;			/* floats */
	bool		decay;			/* AdamW weight decay applies (not biases,
								 * LayerNorm) */
	bool		head;			/* shaped by the labels: classifier, qa_outputs */
	bool		loaded;			/* set by a Load function, else initialised */
	int			layer;			/* encoder layer, -1 outside the layers */
	size_t		field;			/* offsetof the pointer in BertWeights or
								 * BertLayerWeights */
} BertParam;

/* xoshiro256** (Blackman and Vigna 2018), seeded through splitmix64. */
typedef struct BertRng
{
	uint64_t	s[4];
} BertRng;

/* A packed batch with its targets. */
typedef struct BertTrainBatch
{
	BertBatch	input;
	/*
	 * sequence classification: (num_seqs) label ids; token classification:
	 * (total_tokens) label ids or -100; pre-training: (total_tokens) the
	 * original token id at masked positions, -100 elsewhere
	 */
	const int32_t *labels;
	const int32_t *next_sentence_labels;	/* pre-training: (num_seqs), 0 =
											 * B follows A, 1 = random B */
} BertTrainBatch;

/* What a forward pass measured. */
typedef struct BertTrainResult
{
	double		loss;			/* mean cross-entropy (MLM + NSP) */
	double		mlm_loss;		/* pre-training parts */
	double		nsp_loss;
	int			targets;		/* positions with a label (accuracy's
								 * denominator) */
	int			correct;		/* of which the argmax matches */
} BertTrainResult;

typedef struct BertTrainActivations BertTrainActivations;

/* Hyper-parameters of AdamW (Loshchilov and Hutter 2019), as torch.optim.AdamW. */
typedef struct BertAdamW
{
	double		beta1;
	double		beta2;
	double		eps;
	double		weight_decay;
} BertAdamW;

typedef struct BertTrainer
{
	BertConfig	config;			/* of the model being trained: head,
								 * num_labels, id2label */
	BertTask	task;
	int			num_params;
	BertParam  *param;			/* (num_params) */
	size_t		size;			/* floats in each array below */
	float	   *params;			/* (size) */
	float	   *grads;			/* (size) */
	float	   *adam_m;			/* (size) first moment */
	float	   *adam_v;			/* (size) second moment */
	int64_t		adam_steps;		/* optimizer steps taken */
	BertWeights weights;		/* views into params */
	int32_t		pad_id;			/* word-embedding row that gets no gradient
								 * (nn.Embedding padding_idx) */

	/*
	 * Word-embedding rows: a row that never had a gradient has zero AdamW
	 * moments, so its update is the weight decay alone and its moments need
	 * not be read; a row without a gradient this step needs no zeroing,
	 * clipping or norm.  Exactly the dense update, at the cost of the rows
	 * the data uses.
	 */
	int			word_param;		/* index of the word embeddings in param */
	uint8_t    *row_used;		/* (vocab) had a gradient at some step */
	uint8_t    *row_dirty;		/* (vocab) has one this step */

	/* dropout probabilities; 0 turns a dropout off */
	float		hidden_dropout; /* embeddings, sub-block outputs */
	float		attention_dropout;	/* attention probabilities */
	float		classifier_dropout; /* before the classifier */
	BertRng		rng;			/* dropout masks */

	BertTrainActivations *act;	/* saved for the backward pass */
} BertTrainer;

/* optim.c */
extern void BertRngSeed(BertRng *rng, uint64_t seed);
extern uint64_t BertRngNext(BertRng *rng);
extern void BertRngFill32(BertRng *rng, uint32_t *out, size_t n);
extern double BertRngUniform(BertRng *rng);
extern uint32_t BertRngBelow(BertRng *rng, uint32_t n);
extern double BertRngNormal(BertRng *rng);
extern void BertRngShuffle(BertRng *rng, int *items, int n);
extern double BertLinearSchedule(int64_t step, int64_t warmup_steps,
								 int64_t total_steps, double learning_rate);
extern double BertClipGradNorm(BertTrainer *t, double max_norm);
extern void BertAdamWUpdate(BertTrainer *t, const BertAdamW *opt,
							double learning_rate);

/* train_params.c */
extern const char *BertTrainerCreate(BertTrainer *t, const BertConfig *cfg,
									 BertTask task);
extern void BertTrainerFree(BertTrainer *t);
extern int	BertTrainerFind(const BertTrainer *t, const char *name);
extern int	BertTrainerLoadWeights(BertTrainer *t, const BertWeights *src,
								   int src_layers, bool with_head);
extern const char *BertTrainerLoadSafetensors(BertTrainer *t,
											  const BertSafetensors *st,
											  bool with_head);
extern void BertTrainerInitMissing(BertTrainer *t, BertRng *rng,
								   double initializer_range);
extern void BertTrainerPermuteLabels(BertTrainer *t, const int *perm);
extern const char *BertTaskHead(BertTask task, BertFamily family,
								BertHeadKind *head);

/* train.c */
extern const char *BertTrainForward(BertTrainer *t, const BertTrainBatch *b,
									bool training, BertTrainResult *res);
extern void BertTrainZeroGrad(BertTrainer *t);
extern void BertTrainMarkRows(BertTrainer *t, const BertBatch *b, bool all);
extern void BertTrainBackward(BertTrainer *t, const BertTrainBatch *b);
extern const float *BertTrainLogits(const BertTrainer *t, int *rows,
									int *cols);
extern const float *BertTrainLastHidden(const BertTrainer *t);
extern size_t BertTrainActivationBytes(const BertTrainer *t);

#endif							/* BERT_TRAIN_H */
