/*
 * model_path.h
 *		Model names and the paths they stand for under bert.model_dir, and
 *		the rule that nothing read or written leaves that directory
 *		(model_path.c).
 */
#ifndef BERT_MODEL_PATH_H
#define BERT_MODEL_PATH_H

#include <stdbool.h>

#define BERT_MAX_MODEL_NAME 255		/* bytes of a model name */

/* What BertResolveInside found. */
typedef enum BertPathCheck
{
	BERT_PATH_INSIDE,			/* resolved, strictly inside the root */
	BERT_PATH_OUTSIDE,			/* resolved, elsewhere (a symbolic link) */
	BERT_PATH_ERROR				/* realpath() failed; errno says why */
} BertPathCheck;

extern bool BertPathInside(const char *path, const char *root);
extern BertPathCheck BertResolveInside(const char *path, const char *real_root,
									   char *real);
extern void BertModelPath(const char *name, const char *setting, char *path);
extern void BertModelResolve(const char *name, const char *path, char *real,
							 char *real_root);

#endif							/* BERT_MODEL_PATH_H */
