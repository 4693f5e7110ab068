/*
 * standalone_model.h
 *		Loading a Hugging Face model directory without a server, for the
 *		standalone test programs: config.json, the tokenizer files and the
 *		mapped model.safetensors, read by the same fmgr-free readers the
 *		extension uses (src/config.c, json.c, tokenizer.c, safetensors.c).
 */
#ifndef BERT_STANDALONE_MODEL_H
#define BERT_STANDALONE_MODEL_H

#include "bert.h"
#include "json.h"
#include "safetensors.h"

typedef struct BertStandaloneModel
{
	BertConfig	config;
	BertTokenizer tokenizer;
	BertJson   *config_json;	/* the parsed config.json */
	const char *file;			/* model.safetensors, mapped read-only */
	size_t		file_len;
	BertSafetensors st;			/* its parsed header */
} BertStandaloneModel;

/* A whole file in palloc'd memory, NUL-terminated; NULL with *error set. */
extern char *BertStandaloneReadFile(const char *path, size_t *len,
									char **error);

/* Loads directory dir; NULL or an error message naming the file. */
extern const char *BertStandaloneLoad(const char *dir,
									  BertStandaloneModel *model);

/*
 * Binds model->st's tensors into *w through the table of src/weights.c,
 * upcasting F16 / BF16 (palloc'd copies); a missing required tensor, a
 * wrong shape or dtype prints the reason and exits with status 2.
 */
extern void BertStandaloneBindWeights(BertStandaloneModel *model,
									  BertWeights *w);

#endif							/* BERT_STANDALONE_MODEL_H */
