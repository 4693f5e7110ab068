/*
 * guc.c
 *		The bert.* settings.
 */
#include "postgres.h"

#include "utils/guc.h"

#include "gemm_plan.h"
#include "guc.h"

#define BERT_MAX_LENGTH_DEFAULT 512
#define BERT_MAX_LENGTH_MAX 65536
#define BERT_THREADS_MAX 64

char	   *bert_model_dir = NULL;
char	   *bert_sentiment_model = NULL;
char	   *bert_embed_model = NULL;
char	   *bert_fill_mask_model = NULL;
char	   *bert_ner_model = NULL;
char	   *bert_qa_model = NULL;
int			bert_max_length = BERT_MAX_LENGTH_DEFAULT;
int			bert_threads = 1;
bool		bert_batch_queries = true;

/* shared prepared weights (weight_cache.c) and kernel choice (gemm_plan.c) */
char	   *bert_cache_dir = NULL;
int			bert_gemm_strategy = BERT_GEMM_AUTO;

static const struct config_enum_entry gemm_strategy_options[] = {
	{"auto", BERT_GEMM_AUTO, false},
	{"nt", BERT_GEMM_NT, false},
	{"nt_tiled", BERT_GEMM_NT_TILED, false},
	{"nn", BERT_GEMM_NN, false},
	{"nn_tiled", BERT_GEMM_NN_TILED, false},
	{NULL, 0, false}
};

/* Defines every setting; called once from _PG_init. */
void
BertGucInit(void)
{
	DefineCustomStringVariable("bert.model_dir",
							   "Sets the directory that holds the model directories.",
							   "Each sub-directory is a Hugging Face model, named by the sub-directory. Only superusers can change it, since the server reads files there.",
							   &bert_model_dir, "", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bert.sentiment_model",
							   "Sets the model used by bert_sentiment() and bert_sentiment_scores() without a model argument.",
							   "A sequence-classification model: a sub-directory of bert.model_dir.",
							   &bert_sentiment_model, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bert.embed_model",
							   "Sets the model used by bert_embed(), bert_tokenize() and bert_token_ids() without a model argument.",
							   "Any supported model: a sub-directory of bert.model_dir.",
							   &bert_embed_model, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bert.fill_mask_model",
							   "Sets the model used by bert_fill_mask() and bert_next_sentence() without a model argument.",
							   "A BertForPreTraining or ForMaskedLM model: a sub-directory of bert.model_dir.",
							   &bert_fill_mask_model, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bert.ner_model",
							   "Sets the model used by bert_ner() without a model argument.",
							   "A token-classification model: a sub-directory of bert.model_dir.",
							   &bert_ner_model, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("bert.qa_model",
							   "Sets the model used by bert_answer() without a model argument.",
							   "A question-answering model: a sub-directory of bert.model_dir.",
							   &bert_qa_model, "", PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("bert.max_length",
							"Sets the maximum number of tokens per sequence, [CLS] and [SEP] included.",
							"Longer inputs are truncated. The model's own limits (max_position_embeddings, model_max_length, max_seq_length) apply as well; the smallest wins.",
							&bert_max_length, BERT_MAX_LENGTH_DEFAULT, 3,
							BERT_MAX_LENGTH_MAX, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("bert.threads",
							"Sets the number of OpenBLAS threads each backend uses.",
							"At most the CPUs the backend may run on are used. Use parallel query to spread rows over cores; more than one thread helps only for long inputs on an otherwise idle server.",
							&bert_threads, 1, 1, BERT_THREADS_MAX, PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("bert.batch_queries",
							 "Sets whether queries evaluate model calls in batches of rows.",
							 "When on, the planner puts a BertBatch node under the model calls of a query, so that the encoder runs many rows per forward pass. Results equal those of one call per row within float rounding.",
							 &bert_batch_queries, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);

	/* shared prepared weights and kernel choice */
	DefineCustomStringVariable("bert.cache_dir",
							   "Sets the directory of the prepared weight files shared by all backends.",
							   "F16/BF16 weights are converted to F32 there once per model file, with the matrix product plan measured for this CPU; every backend maps the file. A relative path is relative to the data directory; empty: every backend converts into private memory. Only superusers can change it, since the server writes files there.",
							   &bert_cache_dir, "bert_cache", PGC_SUSET, 0,
							   NULL, NULL, NULL);
	DefineCustomEnumVariable("bert.gemm_strategy",
							 "Forces how the encoder's matrix products call OpenBLAS (developer option).",
							 "auto: measured for this CPU when the prepared weights are made. nt/nt_tiled: weights as stored, one call or 32-column tiles; nn/nn_tiled: a transposed copy in the cache file. Applies to models loaded after the change.",
							 &bert_gemm_strategy, BERT_GEMM_AUTO, gemm_strategy_options,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("bert");
}
