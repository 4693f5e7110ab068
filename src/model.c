/*
 * model.c
 *		Loading a Hugging Face model directory: reading its files, mapping
 *		model.safetensors, binding tensor names to layers with shape checks.
 *
 * Memory: everything of a model lives in its own memory context, created
 * under the caller's context while loading (so an ERROR half-way frees it
 * with the failed query) and moved under the cache's context by the caller
 * once complete.  The weights file is mapped read-only and shared; a reset
 * callback on the model's context unmaps it.  F32 tensors are used in place
 * in the mapping; F16/BF16 tensors come from the model's prepared copy in
 * bert.cache_dir, mapped shared (weight_cache.c), or, without one, are
 * upcast once into the context.
 */
#include "postgres.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/stringinfo.h"
#include "portability/instr_time.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "bert.h"
#include "config.h"
#include "json.h"
#include "model.h"
#include "model_path.h"
#include "safetensors.h"
#include "weight_cache.h"
#include "weights.h"

#define BERT_MAX_JSON_FILE (64 * 1024 * 1024)
#define WEIGHTS_FILE "model.safetensors"

/* State of one load, for error messages and tensor binding. */
typedef struct ModelLoad
{
	BertModel  *model;
	const char *root;			/* resolved bert.model_dir */
	BertSafetensors tensors;
	struct stat weights_stat;	/* of model.safetensors when mapped */
	BertPrepared *prepared;		/* shared prepared copy, or NULL */
	size_t		cache_bytes;	/* bound from it */
	const char *prefix;			/* "bert." or "distilbert." */
} ModelLoad;

/*
 * Raises the standard error for a defective model file.  Files are named
 * relative to bert.model_dir ("model/config.json"): that is what the user
 * knows, and it shows no server paths to those who may not set them.
 */
static void
corrupt(ModelLoad *ld, const char *file, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("invalid model file \"%s/%s\"", ld->model->name, file),
			 errdetail("%s", detail),
			 errhint("Model directories must be in the Hugging Face layout (config.json, vocab.txt or tokenizer.json, model.safetensors).")));
}

/*
 * Adds a file to the model's identity: what it was when read (st), or that
 * it was looked for and not found (st == NULL).  The model cache compares
 * every such file with stat() before each use of the model, so that an edit
 * of any file the model was built from, or a file appearing that was not
 * there, loads it again.
 */
static void
watch_file(ModelLoad *ld, const char *file, const char *path,
		   const struct stat *st)
{
	BertModel  *model = ld->model;
	BertWatchedFile *w;

	if (model->n_watched >= BERT_MAX_WATCHED_FILES)
		elog(ERROR, "model \"%s\" is built from too many files", model->name);
	w = &model->watched[model->n_watched++];
	w->path = pstrdup(path);
	w->name = w->path + strlen(path) - strlen(file);
	if (st)
		BertFileIdentityFromStat(st, &w->id);
	else
	{
		memset(&w->id, 0, sizeof(w->id));
		w->id.error = ENOENT;
	}
}

/*
 * Opens a file of the model directory after checking that its real path is
 * inside bert.model_dir, and adds it to the model's identity.  Returns -1
 * when the file does not exist and !required.
 */
static int
open_model_file(ModelLoad *ld, const char *file, bool required)
{
	char		path[MAXPGPATH];
	char		real[PATH_MAX];
	struct stat st;
	int			fd;
	BertPathCheck check;

	snprintf(path, sizeof(path), "%s/%s", ld->model->path, file);
	check = BertResolveInside(path, ld->root, real);
	if (check == BERT_PATH_ERROR)
	{
		int			save_errno = errno;

		if (save_errno == ENOENT && !required)
		{
			watch_file(ld, file, path, NULL);
			return -1;
		}
		errno = save_errno;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open model file \"%s/%s\": %m",
						ld->model->name, file),
				 errhint("%s", save_errno == ENOENT
						 ? "Model directories must be in the Hugging Face layout (config.json, vocab.txt or tokenizer.json, model.safetensors)."
						 : "The server's operating-system user must be able to read the model directory and every directory above it.")));
	}
	if (check == BERT_PATH_OUTSIDE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("model file \"%s/%s\" is outside bert.model_dir",
						ld->model->name, file),
				 errdetail("It is a symbolic link, or is reached through one, to a file outside the directory."),
				 errhint("Copy the file into the model directory instead of linking to it.")));
	/* O_NONBLOCK: a FIFO planted in the directory must not block open() */
	fd = OpenTransientFile(real, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not open model file \"%s/%s\": %m",
						ld->model->name, file),
				 errhint("The server's operating-system user must be able to read the model directory.")));
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat model file \"%s/%s\": %m",
						ld->model->name, file)));
	watch_file(ld, file, path, &st);
	return fd;
}

/*
 * Reads a whole file of the model directory (at most BERT_MAX_JSON_FILE
 * bytes): with text_out, returns NULL and its text in *text_out (length
 * *len_out), as for vocab.txt; else parses it as JSON.  NULL if absent and
 * !required.
 */
static BertJson *
read_model_file(ModelLoad *ld, const char *name, bool required,
				char **text_out, size_t *len_out)
{
	struct stat st;
	char	   *text;
	size_t		done = 0;
	int			fd;
	BertJson   *root;
	char	   *error = NULL;

	fd = open_model_file(ld, name, required);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat model file \"%s/%s\": %m",
						ld->model->name, name)));
	if (!S_ISREG(st.st_mode) || st.st_size > BERT_MAX_JSON_FILE)
		corrupt(ld, name, psprintf("It is not a regular file of at most %d MB.",
							   BERT_MAX_JSON_FILE / (1024 * 1024)));
	text = palloc(st.st_size + 1);
	while (done < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, text + done, st.st_size - done);

		if (n < 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not read model file \"%s/%s\": %m",
							ld->model->name, name)));
		if (n == 0)
			break;
		done += n;
	}
	CloseTransientFile(fd);
	text[done] = '\0';
	if (text_out)
	{
		*text_out = text;
		*len_out = done;
		return NULL;
	}
	root = BertJsonParse(text, (int) done, &error);
	if (root == NULL)
		corrupt(ld, name, error);
	return root;
}

/* Maps model.safetensors read-only and parses its header. */
static void
map_weights(ModelLoad *ld)
{
	BertModel  *model = ld->model;
	MemoryContextCallback *cb;
	struct stat st;
	int			fd;
	void	   *base;
	char	   *error = NULL;

	fd = open_model_file(ld, WEIGHTS_FILE, true);
	if (fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat model file \"%s/%s\": %m",
						model->name, WEIGHTS_FILE)));
	if (!S_ISREG(st.st_mode))
		corrupt(ld, WEIGHTS_FILE, "It is not a regular file.");
	if (st.st_size < 8)
		corrupt(ld, WEIGHTS_FILE,
				psprintf("It is %lld bytes long; a safetensors file starts with an 8-byte header length.",
						 (long long) st.st_size));
	base = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	CloseTransientFile(fd);
	if (base == MAP_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not map model file \"%s/%s\": %m",
						model->name, WEIGHTS_FILE)));
	ld->weights_stat = st;
	model->mapping.base = base;
	model->mapping.length = st.st_size;
	BertMappingRegister(&model->mapping);
	model->file_bytes = st.st_size;
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = BertMappingRelease;
	cb->arg = &model->mapping;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	if (!BertSafetensorsParse(base, st.st_size, &ld->tensors, &error))
		corrupt(ld, WEIGHTS_FILE, error);
}

/* Finds a tensor by name: with the model prefix or without, legacy names. */
static const BertTensorInfo *
find_tensor(ModelLoad *ld, const char *name, bool prefixed)
{
	char		candidate[256];
	const BertTensorInfo *t;

	for (int attempt = 0; attempt < 4; attempt++)
	{
		const char *prefix = (attempt % 2 == 0 && prefixed) ? ld->prefix : "";
		size_t		len;

		if (attempt % 2 == 1 && !prefixed)
			continue;
		snprintf(candidate, sizeof(candidate), "%s%s", prefix, name);
		len = strlen(candidate);
		if (attempt >= 2)
		{
			/* TF-era checkpoints: LayerNorm.gamma / LayerNorm.beta */
			if (len > 16 && strcmp(candidate + len - 16, "LayerNorm.weight") == 0)
				strcpy(candidate + len - 6, "gamma");
			else if (len > 14 && strcmp(candidate + len - 14, "LayerNorm.bias") == 0)
				strcpy(candidate + len - 4, "beta");
			else
				continue;
		}
		t = BertSafetensorsFind(&ld->tensors, candidate);
		if (t)
			return t;
	}
	return NULL;
}

/*
 * Finds one tensor of shape (d0) or (d0, d1) (d1 = BERT_TENSOR_1D for
 * 1-D) and checks its shape.  A missing tensor is an error when `flags` has
 * BERT_TENSOR_REQUIRED, else NULL.
 */
static const BertTensorInfo *
find_checked(ModelLoad *ld, const char *name, int flags, int64 d0, int64 d1)
{
	bool		prefixed = (flags & BERT_TENSOR_PREFIXED) != 0;
	bool		required = (flags & BERT_TENSOR_REQUIRED) != 0;
	const BertTensorInfo *t = find_tensor(ld, name, prefixed);

	if (t == NULL)
	{
		if (required)
			corrupt(ld, WEIGHTS_FILE,
					prefixed
					? psprintf("Tensor \"%s\" (or \"%s%s\") is missing; architecture %s needs it.",
							   name, ld->prefix, name, ld->model->config.architecture)
					: psprintf("Tensor \"%s\" is missing; architecture %s needs it.",
							   name, ld->model->config.architecture));
		return NULL;
	}
	if ((d1 < 0 && (t->ndim != 1 || t->shape[0] != d0)) ||
		(d1 >= 0 && (t->ndim != 2 || t->shape[0] != d0 || t->shape[1] != d1)))
	{
		StringInfoData shape;

		initStringInfo(&shape);
		for (int i = 0; i < t->ndim; i++)
			appendStringInfo(&shape, "%s%lld", i ? ", " : "", (long long) t->shape[i]);
		corrupt(ld, WEIGHTS_FILE,
				d1 < 0
				? psprintf("Tensor \"%s\" has shape [%s]; config.json implies [%lld].",
						   t->name, shape.data, (long long) d0)
				: psprintf("Tensor \"%s\" has shape [%s]; config.json implies [%lld, %lld].",
						   t->name, shape.data, (long long) d0, (long long) d1));
	}
	return t;
}

/*
 * The F32 data of a checked tensor of `count` values: from the shared
 * prepared copy, in place from the mapping (aligned F32), or upcast into
 * the model's memory.
 */
static const float *
tensor_data(ModelLoad *ld, const BertTensorInfo *t, size_t count)
{
	const char *bytes = ld->tensors.data + t->begin;
	const float *prepared = BertPreparedFind(ld->prepared, t->name, false);
	float	   *copy;

	if (prepared != NULL)
	{
		ld->model->shared_bytes += count * sizeof(float);
		ld->cache_bytes += count * sizeof(float);
		return prepared;
	}
	switch (t->dtype)
	{
		case BERT_DTYPE_F32:
			if ((uintptr_t) bytes % sizeof(float) == 0)
			{
				ld->model->shared_bytes += count * sizeof(float);
				return (const float *) bytes;
			}
			copy = MemoryContextAllocHuge(CurrentMemoryContext, count * sizeof(float));
			memcpy(copy, bytes, count * sizeof(float));
			break;
		case BERT_DTYPE_F16:
			copy = MemoryContextAllocHuge(CurrentMemoryContext, count * sizeof(float));
			BertHalfToFloat(copy, bytes, count);
			break;
		case BERT_DTYPE_BF16:
			copy = MemoryContextAllocHuge(CurrentMemoryContext, count * sizeof(float));
			BertBfloat16ToFloat(copy, bytes, count);
			break;
		default:
			corrupt(ld, WEIGHTS_FILE,
					psprintf("Tensor \"%s\" has dtype %s; weights must be F32, F16 or BF16.",
							 t->name, t->dtype_name));
			return NULL;
	}
	ld->model->converted_bytes += count * sizeof(float);
	return copy;
}

/*
 * The BertTensorBinder of the loader (weights.h): binds one tensor of shape
 * (d0) or (d0, d1) (d1 = BERT_TENSOR_1D for 1-D), upcasting half
 * precision.  A missing tensor is an error when `flags` has
 * BERT_TENSOR_REQUIRED, else NULL.  For a layer weight (`transposed` not
 * NULL), *transposed is its transposed copy (d1, d0) when the prepared copy
 * holds one, and the stored one is then NULL.
 */
static const float *
bind_tensor(void *arg, const char *name, int flags, int64_t d0, int64_t d1,
			const float **transposed)
{
	ModelLoad  *ld = (ModelLoad *) arg;
	const BertTensorInfo *t = find_checked(ld, name, flags, d0, d1);

	if (t == NULL)
		return NULL;
	if (transposed != NULL)
	{
		*transposed = BertPreparedFind(ld->prepared, t->name, true);
		if (*transposed != NULL)
		{
			ld->model->shared_bytes += (size_t) d0 * d1 * sizeof(float);
			ld->cache_bytes += (size_t) d0 * d1 * sizeof(float);
			return NULL;
		}
	}
	return tensor_data(ld, t, (size_t) d0 * (d1 < 0 ? 1 : d1));
}

/*
 * Opens or builds the shared prepared copy of the weights (weight_cache.c)
 * and sets the model's matrix product plan.
 */
static void
prepare_weights(ModelLoad *ld)
{
	BertModel  *model = ld->model;
	BertGemmPlan *plan = palloc(sizeof(BertGemmPlan));

	ld->prepared = BertPreparedOpen(model, &ld->tensors, &ld->weights_stat, plan);
	model->prepared = ld->prepared;
	model->weights.gemm_plan = plan;
}

/* Reads the tokenizer files into model->tokenizer. */
static void
load_tokenizer(ModelLoad *ld)
{
	BertModel  *model = ld->model;
	BertTokenizer *tok = &model->tokenizer;
	BertJson   *tokenizer_json = NULL;
	BertJson   *tokenizer_config;
	char	   *vocab_text = NULL;
	size_t		vocab_len = 0;
	char	   *error = NULL;
	const char *msg;
	const char *file;

	read_model_file(ld, "vocab.txt", false, &vocab_text, &vocab_len);
	if (vocab_text)
	{
		file = "vocab.txt";
		if ((msg = BertTokenizerLoadVocabTxt(tok, vocab_text, vocab_len)) != NULL)
			corrupt(ld, file, msg);
	}
	else
	{
		file = "tokenizer.json";
		tokenizer_json = read_model_file(ld, "tokenizer.json", false, NULL, NULL);
		if (tokenizer_json == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("model \"%s\" has no vocabulary", model->name),
					 errdetail("Neither vocab.txt nor tokenizer.json exists in its directory."),
					 errhint("Copy the tokenizer files of the model into its directory.")));
		if (!BertVocabFromTokenizerJson(tokenizer_json, tok, &error))
			corrupt(ld, file, error);
	}

	tokenizer_config = read_model_file(ld, "tokenizer_config.json", false, NULL, NULL);
	if (!BertTokenizerOptionsFromJson(tokenizer_json, tokenizer_config, tok,
									  &model->config, &error))
		corrupt(ld, "tokenizer_config.json", error);
	if ((msg = BertTokenizerFinish(tok)) != NULL)
		corrupt(ld, file, msg);
	if (tok->vocab_size > model->config.vocab_size)
		corrupt(ld, file, psprintf("The vocabulary has %d tokens but the model's embeddings have %d rows.",
							   tok->vocab_size, model->config.vocab_size));
}

/* Reads the optional sentence-transformers files. */
static void
load_sentence_transformers(ModelLoad *ld)
{
	BertModel  *model = ld->model;
	BertJson   *root;
	char	   *error = NULL;
	const char *pooling_path = NULL;
	char		name[MAXPGPATH];

	root = read_model_file(ld, "modules.json", false, NULL, NULL);
	if (root && !BertModulesFromJson(root, &model->config, &pooling_path, &error))
		corrupt(ld, "modules.json", error);
	if (pooling_path)
	{
		snprintf(name, sizeof(name), "%s/config.json", pooling_path);
		root = read_model_file(ld, name, true, NULL, NULL);
		if (!BertPoolingFromJson(root, &model->config, &error))
			corrupt(ld, name, error);
	}
	root = read_model_file(ld, "sentence_bert_config.json", false, NULL, NULL);
	if (root && !BertSentenceConfigFromJson(root, &model->config, &error))
		corrupt(ld, "sentence_bert_config.json", error);
}

/*
 * Loads the model directory `path` (already resolved, inside `root`) under
 * the current memory context.  Raises an ERROR naming the file and the
 * defect for anything missing, unreadable or inconsistent.
 */
BertModel *
BertModelLoad(const char *name, const char *path, const char *root)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "bert model",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	ModelLoad	ld = {0};
	BertModel  *model = palloc0(sizeof(BertModel));
	BertJson   *config;
	char	   *error = NULL;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	model->memory = cxt;
	model->name = pstrdup(name);
	model->path = pstrdup(path);
	model->act.memory = cxt;
	ld.model = model;
	ld.root = root;

	config = read_model_file(&ld, "config.json", true, NULL, NULL);
	if (!BertConfigFromJson(config, &model->config, &error))
		corrupt(&ld, "config.json", error);
	ld.prefix = model->config.family == BERT_FAMILY_DISTILBERT ? "distilbert." : "bert.";

	load_tokenizer(&ld);
	load_sentence_transformers(&ld);
	map_weights(&ld);
	prepare_weights(&ld);
	BertBindWeights(&model->config, &model->weights, bind_tensor, &ld);
	model->weights_copy = model->converted_bytes > 0 ? BERT_WEIGHTS_PRIVATE :
		ld.cache_bytes > 0 ? BERT_WEIGHTS_SHARED_CACHE : BERT_WEIGHTS_MODEL_FILE;
	/* the storage dtype bert_models() shows: that of the word embeddings */
	strlcpy(model->config.dtype,
			find_tensor(&ld, "embeddings.word_embeddings.weight", true)->dtype_name,
			sizeof(model->config.dtype));

	INSTR_TIME_SET_CURRENT(elapsed);
	INSTR_TIME_SUBTRACT(elapsed, start);
	model->load_ms = INSTR_TIME_GET_MILLISEC(elapsed);
	MemoryContextSwitchTo(old);
	return model;
}
