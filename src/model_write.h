/*
 * model_write.h
 *		Writing a Hugging Face model directory: model.safetensors (F32),
 *		config.json derived from the base's, tokenizer files copied, every
 *		file and the directory fsync'ed (model_write.c).
 *
 * Pure C over palloc: no fmgr, no ereport.  Functions return NULL or an
 * error message.
 */
#ifndef BERT_MODEL_WRITE_H
#define BERT_MODEL_WRITE_H

#include "json.h"
#include "train.h"

/* A JSON member to set in config.json: the key and its JSON text. */
typedef struct BertJsonEdit
{
	const char *key;
	const char *json;			/* NULL: drop the key */
} BertJsonEdit;

extern const char *BertWriteSafetensors(const char *path,
										const BertTrainer *t);
extern char *BertJsonWithEdits(const BertJson *root, const BertJsonEdit *edits,
							   int n_edits);
extern char *BertJsonQuote(const char *s);
extern const char *BertWriteFile(const char *path, const char *data,
								 size_t len);
extern const char *BertCopyFile(const char *from, const char *to);
extern const char *BertFsyncPath(const char *path);
extern const char *BertRemoveTree(const char *path);

#endif							/* BERT_MODEL_WRITE_H */
