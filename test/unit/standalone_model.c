/*
 * standalone_model.c
 *		Loading a model directory without a server (see standalone_model.h).
 *
 * The extension's loader (src/model.c) also confines every path to
 * bert.model_dir and reports through ereport; a test program reads the
 * directory it is given and returns messages instead.
 */
#include "postgres_fe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "standalone_model.h"
#include "weights.h"

char *
BertStandaloneReadFile(const char *path, size_t *len, char **error)
{
	FILE	   *f = fopen(path, "rb");
	struct stat st;
	char	   *buf;

	if (f == NULL || fstat(fileno(f), &st) != 0)
	{
		*error = psprintf("could not open \"%s\": %s", path, strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	buf = palloc_extended(st.st_size + 1, MCXT_ALLOC_HUGE);
	if (fread(buf, 1, st.st_size, f) != (size_t) st.st_size)
	{
		*error = psprintf("could not read \"%s\"", path);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[st.st_size] = '\0';
	*len = (size_t) st.st_size;
	return buf;
}

/* Reads and parses dir/name; NULL when absent and !required. */
static BertJson *
read_json(const char *dir, const char *name, bool required, char **error)
{
	char	   *path = psprintf("%s/%s", dir, name);
	char	   *text;
	size_t		len;
	BertJson   *root;

	if (!required && access(path, F_OK) != 0)
		return NULL;
	if ((text = BertStandaloneReadFile(path, &len, error)) == NULL)
		return NULL;
	if ((root = BertJsonParse(text, (int) len, error)) == NULL)
		*error = psprintf("%s: %s", name, *error);
	return root;
}

const char *
BertStandaloneLoad(const char *dir, BertStandaloneModel *model)
{
	char	   *error = NULL;
	char	   *path;
	char	   *vocab;
	size_t		vocab_len;
	const char *msg;
	BertJson   *tokenizer_json = NULL;
	BertJson   *tokenizer_config;
	int			fd;
	struct stat st;

	memset(model, 0, sizeof(*model));
	if ((model->config_json = read_json(dir, "config.json", true, &error)) == NULL)
		return error;
	if (!BertConfigFromJson(model->config_json, &model->config, &error))
		return psprintf("config.json: %s", error);

	path = psprintf("%s/vocab.txt", dir);
	if (access(path, F_OK) == 0)
	{
		if ((vocab = BertStandaloneReadFile(path, &vocab_len, &error)) == NULL)
			return error;
		if ((msg = BertTokenizerLoadVocabTxt(&model->tokenizer, vocab, vocab_len)) != NULL)
			return psprintf("vocab.txt: %s", msg);
	}
	else
	{
		if ((tokenizer_json = read_json(dir, "tokenizer.json", true, &error)) == NULL)
			return error;
		if (!BertVocabFromTokenizerJson(tokenizer_json, &model->tokenizer, &error))
			return psprintf("tokenizer.json: %s", error);
	}
	tokenizer_config = read_json(dir, "tokenizer_config.json", false, &error);
	if (error)
		return error;
	if (!BertTokenizerOptionsFromJson(tokenizer_json, tokenizer_config,
									  &model->tokenizer, &model->config, &error))
		return psprintf("tokenizer_config.json: %s", error);
	if ((msg = BertTokenizerFinish(&model->tokenizer)) != NULL)
		return msg;

	path = psprintf("%s/model.safetensors", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) != 0)
		return psprintf("could not open \"%s\": %s", path, strerror(errno));
	model->file = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (model->file == MAP_FAILED)
		return psprintf("could not map \"%s\": %s", path, strerror(errno));
	model->file_len = st.st_size;
	if (!BertSafetensorsParse(model->file, model->file_len, &model->st, &error))
		return psprintf("model.safetensors: %s", error);
	return NULL;
}

/*
 * BertTensorBinder over the mapped file: the name with the family's prefix
 * ("bert.", "distilbert.") when BERT_TENSOR_PREFIXED, then without.  The
 * extension's loader also accepts TF-era LayerNorm.gamma / .beta names;
 * the test models do not use them.  Weights are always bound as stored
 * (no transposed copies).
 */
static const float *
standalone_bind(void *arg, const char *name, int flags, int64_t d0, int64_t d1,
				const float **transposed)
{
	BertStandaloneModel *model = (BertStandaloneModel *) arg;
	const char *prefix = model->config.family == BERT_FAMILY_DISTILBERT
		? "distilbert." : "bert.";
	const BertTensorInfo *t = NULL;
	size_t		count = (size_t) d0 * (d1 < 0 ? 1 : d1);
	const char *bytes;
	float	   *copy;

	if (transposed != NULL)
		*transposed = NULL;
	if (flags & BERT_TENSOR_PREFIXED)
		t = BertSafetensorsFind(&model->st, psprintf("%s%s", prefix, name));
	if (t == NULL)
		t = BertSafetensorsFind(&model->st, name);
	if (t == NULL)
	{
		if (flags & BERT_TENSOR_REQUIRED)
		{
			fprintf(stderr, "model.safetensors: tensor \"%s\" is missing\n", name);
			exit(2);
		}
		return NULL;
	}
	if (t->ndim != (d1 < 0 ? 1 : 2) || t->shape[0] != d0 || (d1 >= 0 && t->shape[1] != d1))
	{
		fprintf(stderr, "model.safetensors: tensor \"%s\" has the wrong shape\n", t->name);
		exit(2);
	}
	bytes = model->st.data + t->begin;
	copy = palloc_extended(count * sizeof(float), MCXT_ALLOC_HUGE);
	switch (t->dtype)
	{
		case BERT_DTYPE_F32:
			memcpy(copy, bytes, count * sizeof(float));
			break;
		case BERT_DTYPE_F16:
			BertHalfToFloat(copy, bytes, count);
			break;
		case BERT_DTYPE_BF16:
			BertBfloat16ToFloat(copy, bytes, count);
			break;
		default:
			fprintf(stderr, "model.safetensors: tensor \"%s\" has dtype %s\n",
					t->name, t->dtype_name);
			exit(2);
	}
	return copy;
}

void
BertStandaloneBindWeights(BertStandaloneModel *model, BertWeights *w)
{
	memset(w, 0, sizeof(*w));
	BertBindWeights(&model->config, w, standalone_bind, model);
}
