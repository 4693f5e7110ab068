/*
 * train_sql.c
 *		The SQL training functions: bert_finetune (sequence classifier),
 *		bert_finetune_tokens and bert_finetune_entities (token classifier
 *		from words and tags, or from text with character-span entities),
 *		bert_pretrain (masked LM + next sentence) and bert_training_progress.
 *
 * A run, in order:
 *	 1. checks before any work: the options, the caller's right to write
 *		models (superuser or member of pg_write_server_files), the new
 *		model's name and whether it is taken, the base model (loaded outside
 *		the model cache, so that nothing the training query does can unload
 *		it) and its architecture;
 *	 2. a temporary directory .bert-training-<pid>-<usec> inside
 *		bert.model_dir, removed on any ERROR or FATAL exit
 *		(PG_ENSURE_ERROR_CLEANUP); its progress.json is what
 *		bert_training_progress() shows to other sessions;
 *	 3. the training rows, read through SPI with the caller's privileges
 *		from a cursor 1,000 rows at a time and tokenized at once, so only
 *		token ids are kept; errors for no rows, a single label, NULLs;
 *	 4. training (train.c, optim.c) with CHECK_FOR_INTERRUPTS between
 *		steps and inside every layer, a NOTICE every 5 seconds, evaluation
 *		on the held-out rows after every epoch;
 *	 5. config.json, model.safetensors and the tokenizer files written into
 *		the temporary directory and fsync'ed, then the directory renamed to
 *		the model's name (exchanged with the old one when replace is set),
 *		and bert.model_dir fsync'ed.
 *
 * Memory: the per-call context holds the base model (its F32 weights stay
 * mapped), the tokenized rows, the trainer (16 bytes per parameter) and
 * one batch's activations; see README "Training".
 */
#include "postgres.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "common/hashfn.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "storage/ipc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "bert.h"
#include "blas.h"
#include "guc.h"
#include "json.h"
#include "model.h"
#include "model_path.h"
#include "model_write.h"
#include "sql_common.h"
#include "train.h"
#include "train_data.h"

#define TMP_PREFIX ".bert-training-"
#define PROGRESS_FILE "progress.json"
#define FETCH_ROWS 1000
#define NOTICE_SECONDS 5.0
#define MAX_LABEL_BYTES 1024
#define BERT_MAX_BATCH_TOKENS (1 << 24)

/* The named arguments every training function takes, in this order. */
enum
{
	ARG_MODEL,
	ARG_BASE,
	ARG_DATA,
	ARG_EPOCHS,
	ARG_LEARNING_RATE,
	ARG_BATCH_SIZE,
	ARG_MAX_LENGTH,
	ARG_WARMUP_RATIO,
	ARG_WARMUP_STEPS,
	ARG_WEIGHT_DECAY,
	ARG_BETA1,
	ARG_BETA2,
	ARG_EPSILON,
	ARG_MAX_GRAD_NORM,
	ARG_DROPOUT,
	ARG_SEED,
	ARG_SHUFFLE,
	ARG_VALIDATION_SHARE,
	ARG_REPLACE,
	ARG_MLM_PROBABILITY			/* bert_pretrain only */
};

typedef struct TrainOptions
{
	double		epochs;
	double		learning_rate;
	int			batch_size;
	int			max_length;		/* 0: the model's limit */
	double		warmup_ratio;
	int			warmup_steps;
	BertAdamW	adamw;
	double		max_grad_norm;
	double		dropout;		/* < 0: the model's config */
	int64		seed;
	bool		shuffle;
	double		validation_share;
	bool		replace;
	double		mlm_probability;
} TrainOptions;

/* Distinct labels seen in the data, in order of first appearance. */
typedef struct LabelSet
{
	int			n;
	char	   *names[BERT_MAX_LABELS];	/* UTF-8 */
	Datum		values[BERT_MAX_LABELS];	/* for sorting by value */
	Oid			type;
	int16		typlen;
	bool		typbyval;
	Oid			collation;
	int			hash[2 * BERT_MAX_LABELS];	/* open addressing: index + 1 */
} LabelSet;

/* One result row. */
typedef struct EpochResult
{
	int			epoch;
	int64		steps;
	double		train_loss;
	double		validation_loss;	/* NaN: no validation rows */
	double		validation_accuracy;
	double		seconds;
} EpochResult;

typedef struct TrainRun
{
	const char *function;
	BertTask	task;
	const char *name;
	char		path[MAXPGPATH];	/* bert.model_dir/name */
	char		root[MAXPGPATH];	/* bert.model_dir */
	char		tmp[MAXPGPATH];		/* the temporary directory */
	BertModel  *base;
	BertJson   *base_config;
	TrainOptions opt;
	int			max_len;

	LabelSet	labels;
	BertExampleSet data;		/* examples; pre-training: sentences */
	BertExampleSet val_data;	/* pre-training: held-out sentences */
	int		   *train_idx;
	int			n_train;
	int		   *val_idx;
	int			n_val;
	int64		rows;			/* rows read */

	BertTrainer trainer;
	BertRng		data_rng;		/* shuffling, validation split, masking */
	int64		total_steps;
	int64		warmup_steps;
	int			steps_per_epoch;

	EpochResult *results;
	int			n_results;

	/* progress */
	instr_time	started;
	instr_time	last_notice;
	const char *phase;
	int			epoch;
	int64		step;
	double		loss;			/* mean loss since the last notice */
	int64		examples_done;
} TrainRun;

/* The directory to remove when a run fails (one run per backend at a time). */
static char cleanup_dir[MAXPGPATH];

/* ----------------------------------------------------------------
 * Checks before any work
 * ---------------------------------------------------------------- */

static double
seconds_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

/* Raises the error for an option out of its range. */
static void
bad_option(const char *function, const char *option, const char *allowed)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: %s %s", function, option, allowed),
			 errhint("See the argument list of %s() in the README's Training section.", function)));
}

/* An argument that must not be NULL. */
static void
require_arg(FunctionCallInfo fcinfo, int arg, const char *function,
			const char *name)
{
	if (PG_ARGISNULL(arg))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: %s must not be NULL", function, name)));
}

/* Reads and checks the options. */
static void
read_options(FunctionCallInfo fcinfo, const char *function, TrainOptions *o,
			 bool pretraining)
{
	static const char *const names[] = {
		"model_name", "base_model", "training_data", "epochs", "learning_rate",
		"batch_size", "max_length", "warmup_ratio", "warmup_steps",
		"weight_decay", "adam_beta1", "adam_beta2", "adam_epsilon",
		"max_grad_norm", "dropout", "seed", "shuffle", "validation_share",
		"replace", "mlm_probability"
	};
	int			nargs = pretraining ? ARG_MLM_PROBABILITY + 1 : ARG_REPLACE + 1;

	for (int i = 0; i < nargs; i++)
		if (i != ARG_MAX_LENGTH && i != ARG_DROPOUT)
			require_arg(fcinfo, i, function, names[i]);

	o->epochs = PG_GETARG_FLOAT8(ARG_EPOCHS);
	o->learning_rate = PG_GETARG_FLOAT8(ARG_LEARNING_RATE);
	o->batch_size = PG_GETARG_INT32(ARG_BATCH_SIZE);
	o->max_length = PG_ARGISNULL(ARG_MAX_LENGTH) ? 0 : PG_GETARG_INT32(ARG_MAX_LENGTH);
	o->warmup_ratio = PG_GETARG_FLOAT8(ARG_WARMUP_RATIO);
	o->warmup_steps = PG_GETARG_INT32(ARG_WARMUP_STEPS);
	o->adamw.weight_decay = PG_GETARG_FLOAT8(ARG_WEIGHT_DECAY);
	o->adamw.beta1 = PG_GETARG_FLOAT8(ARG_BETA1);
	o->adamw.beta2 = PG_GETARG_FLOAT8(ARG_BETA2);
	o->adamw.eps = PG_GETARG_FLOAT8(ARG_EPSILON);
	o->max_grad_norm = PG_GETARG_FLOAT8(ARG_MAX_GRAD_NORM);
	o->dropout = PG_ARGISNULL(ARG_DROPOUT) ? -1.0 : PG_GETARG_FLOAT8(ARG_DROPOUT);
	o->seed = PG_GETARG_INT64(ARG_SEED);
	o->shuffle = PG_GETARG_BOOL(ARG_SHUFFLE);
	o->validation_share = PG_GETARG_FLOAT8(ARG_VALIDATION_SHARE);
	o->replace = PG_GETARG_BOOL(ARG_REPLACE);
	o->mlm_probability = pretraining ? PG_GETARG_FLOAT8(ARG_MLM_PROBABILITY) : 0.15;

	/* written so that NaN fails every check */
	if (!(o->learning_rate > 0.0 && o->learning_rate < 1.0))
		bad_option(function, "learning_rate", "must be greater than 0 and less than 1");
	if (o->batch_size < 1 || o->batch_size > 65536)
		bad_option(function, "batch_size", "must be between 1 and 65536");
	if (!(o->epochs > 0.0 && o->epochs <= 100000.0))
		bad_option(function, "epochs", "must be greater than 0 and at most 100000");
	if (!PG_ARGISNULL(ARG_MAX_LENGTH) && (o->max_length < 3 || o->max_length > 65536))
		bad_option(function, "max_length", "must be between 3 and 65536, or NULL for the model's limit");
	if (!(o->warmup_ratio >= 0.0 && o->warmup_ratio <= 1.0))
		bad_option(function, "warmup_ratio", "must be between 0 and 1");
	if (o->warmup_steps < 0)
		bad_option(function, "warmup_steps", "must not be negative");
	if (!(o->adamw.weight_decay >= 0.0 && o->adamw.weight_decay < 1.0))
		bad_option(function, "weight_decay", "must be at least 0 and less than 1");
	if (!(o->adamw.beta1 >= 0.0 && o->adamw.beta1 < 1.0))
		bad_option(function, "adam_beta1", "must be at least 0 and less than 1");
	if (!(o->adamw.beta2 >= 0.0 && o->adamw.beta2 < 1.0))
		bad_option(function, "adam_beta2", "must be at least 0 and less than 1");
	if (!(o->adamw.eps > 0.0 && o->adamw.eps < 1.0))
		bad_option(function, "adam_epsilon", "must be greater than 0 and less than 1");
	if (!(o->max_grad_norm >= 0.0 && isfinite(o->max_grad_norm)))
		bad_option(function, "max_grad_norm", "must be at least 0 (0 turns clipping off)");
	if (!PG_ARGISNULL(ARG_DROPOUT) && !(o->dropout >= 0.0 && o->dropout < 1.0))
		bad_option(function, "dropout", "must be at least 0 and less than 1, or NULL for the model's config");
	if (!(o->validation_share >= 0.0 && o->validation_share < 1.0))
		bad_option(function, "validation_share", "must be at least 0 and less than 1");
	if (pretraining && !(o->mlm_probability > 0.0 && o->mlm_probability < 1.0))
		bad_option(function, "mlm_probability", "must be greater than 0 and less than 1");
}

/* Writing models: superusers and members of pg_write_server_files. */
static void
require_writer(const char *function)
{
	if (superuser() || has_privs_of_role(GetUserId(), ROLE_PG_WRITE_SERVER_FILES))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for %s", function),
			 errdetail("Training writes a model directory into bert.model_dir on the server."),
			 errhint("A superuser can run: GRANT pg_write_server_files TO %s;",
					 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
}

/* The new model's name and path; ERROR if taken and not to be replaced. */
static void
check_destination(TrainRun *run)
{
	struct stat st;

	BertModelPath(run->name, NULL, run->path);
	if (strncmp(run->name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", run->name),
				 errdetail("Names starting with \"%s\" are the temporary directories of training runs.",
						   TMP_PREFIX)));
	strlcpy(run->root, bert_model_dir, sizeof(run->root));
	if (lstat(run->path, &st) == 0 && (!run->opt.replace || !S_ISDIR(st.st_mode)))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", run->name),
				 errdetail("bert.model_dir already has an entry \"%s\".", run->name),
				 errhint(S_ISDIR(st.st_mode)
						 ? "Choose another name, or pass replace => true to replace the model."
						 : "Choose another name.")));
	/* replace only what is a model: a directory with a config.json */
	if (run->opt.replace && lstat(run->path, &st) == 0 &&
		access(psprintf("%s/config.json", run->path), F_OK) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("\"%s\" in bert.model_dir is not a model", run->name),
				 errdetail("The directory has no config.json, so replace => true does not replace it."),
				 errhint("Choose another name.")));
}

/* Reads bert.model_dir/<base>/config.json again, as a tree. */
static BertJson *
read_base_config(BertModel *base)
{
	char	   *path = psprintf("%s/config.json", base->path);
	int			fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	struct stat st;
	char	   *text;
	char	   *error = NULL;
	BertJson   *root;
	ssize_t		n;

	if (fd < 0 || fstat(fd, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read model file \"%s/config.json\": %m", base->name)));
	text = palloc(st.st_size + 1);
	n = read(fd, text, st.st_size);
	CloseTransientFile(fd);
	if (n != st.st_size)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read model file \"%s/config.json\": %m", base->name)));
	text[n] = '\0';
	root = BertJsonParse(text, (int) n, &error);
	if (root == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid model file \"%s/config.json\"", base->name),
				 errdetail("%s", error)));
	return root;
}

/* Loads the base model and checks that the task can start from it. */
static void
load_base(TrainRun *run, const char *base_name)
{
	BertHeadKind head;
	const char *problem;

	run->base = BertLoadModelUncached(base_name);
	problem = BertTaskHead(run->task, run->base->config.family, &head);
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: base model \"%s\" is not supported", run->function, base_name),
				 errdetail("Its architecture is %s. %s", run->base->config.architecture, problem),
				 errhint("Start from a BERT model (BertModel, BertForPreTraining, BertForMaskedLM or a BERT classifier).")));
	if (run->task == BERT_TASK_PRETRAINING && run->base->tokenizer.mask_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: base model \"%s\" is not supported", run->function, base_name),
				 errdetail("Its vocabulary has no [MASK] token.")));
	if (run->task == BERT_TASK_PRETRAINING && run->base->config.type_vocab_size < 2)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: base model \"%s\" is not supported", run->function, base_name),
				 errdetail("Next-sentence prediction needs sentence pairs, and its type_vocab_size is %d.",
						   run->base->config.type_vocab_size)));
	run->base_config = read_base_config(run->base);
	run->max_len = BertMaxLength(run->base);
	if (run->opt.max_length > 0)
		run->max_len = Min(run->max_len, run->opt.max_length);
	if ((int64) run->opt.batch_size * run->max_len > BERT_MAX_BATCH_TOKENS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: batch_size %d of up to %d tokens is too large",
						run->function, run->opt.batch_size, run->max_len),
				 errdetail("A batch may hold at most %d tokens.", BERT_MAX_BATCH_TOKENS),
				 errhint("Lower batch_size or max_length.")));
}

/* ----------------------------------------------------------------
 * Progress: NOTICE and progress.json
 * ---------------------------------------------------------------- */

/* Writes progress.json into the temporary directory (atomically). */
static void
write_progress(TrainRun *run)
{
	StringInfoData s;
	double		elapsed = seconds_since(run->started);
	double		rate = elapsed > 0 ? run->examples_done / elapsed : 0;
	double		left = -1;
	char	   *path = psprintf("%s/%s", run->tmp, PROGRESS_FILE);
	char	   *tmp = psprintf("%s.tmp", path);
	const char *error;
	size_t		memory;

	if (run->step > 0 && run->total_steps > 0)
		left = elapsed / run->step * (run->total_steps - run->step);
	memory = sizeof(float) * 4 * run->trainer.size + BertTrainActivationBytes(&run->trainer) +
		BertExamplesBytes(&run->data) + BertExamplesBytes(&run->val_data);
	initStringInfo(&s);
	appendStringInfo(&s, "{\"pid\": %d, \"function\": \"%s\", \"model\": %s, \"base_model\": %s, "
					 "\"phase\": \"%s\", \"rows\": " INT64_FORMAT ", \"epoch\": %d, \"epochs\": %g, "
					 "\"step\": " INT64_FORMAT ", \"total_steps\": " INT64_FORMAT ", "
					 "\"loss\": %.6g, \"rows_per_second\": %.6g, \"seconds_elapsed\": %.3f, "
					 "\"seconds_left\": %.3f, \"memory_bytes\": %zu, \"updated\": %.3f}\n",
					 MyProcPid, run->function, BertJsonQuote(run->name),
					 BertJsonQuote(run->base->name), run->phase, run->rows, run->epoch,
					 run->opt.epochs, run->step, run->total_steps,
					 isfinite(run->loss) ? run->loss : 0.0, rate, elapsed, left, memory,
					 (double) time(NULL));
	unlink(tmp);
	error = BertWriteFile(tmp, s.data, s.len);
	if (error == NULL && rename(tmp, path) != 0)
		error = psprintf("could not rename \"%s\": %m", tmp);
	if (error)
		ereport(WARNING,
				(errmsg("%s: could not write progress: %s", run->function, error)));
}

/* Seconds as "1 h 02 min", "3 min 05 s" or "12 s". */
static char *
format_duration(double s)
{
	long		t = (long) (s + 0.5);

	if (t >= 3600)
		return psprintf("%ld h %02ld min", t / 3600, (t % 3600) / 60);
	if (t >= 60)
		return psprintf("%ld min %02ld s", t / 60, t % 60);
	return psprintf("%ld s", t);
}

/*
 * Every NOTICE_SECONDS: a NOTICE and progress.json; force: progress.json
 * only (a new phase).
 */
static void
report_progress(TrainRun *run, bool force)
{
	double		elapsed;

	if (seconds_since(run->last_notice) < NOTICE_SECONDS)
	{
		if (force)
			write_progress(run);
		return;
	}
	INSTR_TIME_SET_CURRENT(run->last_notice);
	write_progress(run);
	elapsed = seconds_since(run->started);
	if (strcmp(run->phase, "training") == 0 && run->step > 0)
		ereport(NOTICE,
				(errmsg("%s \"%s\": step " INT64_FORMAT " of " INT64_FORMAT " (epoch %d), loss %.4f, %.1f rows/s, %s left",
						run->function, run->name, run->step, run->total_steps, run->epoch,
						run->loss, run->examples_done / Max(elapsed, 1e-9),
						format_duration(elapsed / run->step * (run->total_steps - run->step)))));
	else
		ereport(NOTICE,
				(errmsg("%s \"%s\": %s, " INT64_FORMAT " rows read",
						run->function, run->name, run->phase, run->rows)));
}

/* ----------------------------------------------------------------
 * Reading the training rows
 * ---------------------------------------------------------------- */

/* True for a plain or schema-qualified identifier (a table name). */
static bool
looks_like_relation(const char *s)
{
	bool		start = true;

	for (; *s; s++)
	{
		if (start && (isalpha((unsigned char) *s) || *s == '_'))
			start = false;
		else if (!start && (isalnum((unsigned char) *s) || *s == '_' || *s == '$'))
			continue;
		else if (!start && *s == '.')
			start = true;
		else
			return false;
	}
	return !start;
}

/* Opens a cursor over the training rows: a query, or all rows of a table. */
static Portal
open_rows(TrainRun *run, const char *training_data)
{
	const char *query = training_data;
	SPIPlanPtr	plan;
	Portal		portal;

	if (looks_like_relation(training_data))
	{
		List	   *names = stringToQualifiedNameList(training_data);
		RangeVar   *rv = makeRangeVarFromNameList(names);

		query = psprintf("TABLE %s", quote_qualified_identifier(rv->schemaname, rv->relname));
	}
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	if (!SPI_is_cursor_plan(plan))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: training_data must be a query that returns rows, or a table name",
						run->function)));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, false);
	return portal;
}

/* The non-dropped columns of a row type; ERROR unless there are allowed ones. */
static int
data_columns(TrainRun *run, TupleDesc desc, int *cols, int min, int max,
			 const char *expected)
{
	int			n = 0;

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped && n < 4)
			cols[n++] = i + 1;
	if (n < min || n > max)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg_plural("%s: training_data returns %d column",
							   "%s: training_data returns %d columns", n, run->function, n),
				 errdetail("The rows must be %s.", expected)));
	return n;
}

/* The UTF-8 text of column col (1-based); ERROR for NULL. */
static char *
column_utf8(TrainRun *run, HeapTuple tuple, TupleDesc desc, int col,
			const char *what, int *len)
{
	char	   *s = SPI_getvalue(tuple, desc, col);
	char	   *utf8;

	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: row " INT64_FORMAT " of training_data has a NULL %s",
						run->function, run->rows + 1, what),
				 errhint("Filter NULLs out in the query, e.g. WHERE %s IS NOT NULL.",
						 NameStr(TupleDescAttr(desc, col - 1)->attname))));
	if (GetDatabaseEncoding() == PG_SQL_ASCII)
	{
		(void) pg_verify_mbstr(PG_UTF8, s, strlen(s), false);
		utf8 = s;
	}
	else
		utf8 = pg_server_to_any(s, strlen(s), PG_UTF8);
	*len = strlen(utf8);
	return utf8;
}

/* Text labels sort by their UTF-8 bytes (code points), like Python's sorted(). */
static bool
label_is_text(const LabelSet *ls)
{
	return ls->type == TEXTOID || ls->type == VARCHAROID ||
		ls->type == BPCHAROID || ls->type == NAMEOID;
}

/*
 * The provisional id of a label (its index of first appearance); value is
 * its datum for sorting (unused for text labels).  Call in the context
 * that keeps the labels.
 */
static int
label_id(TrainRun *run, LabelSet *ls, const char *name, Datum value)
{
	uint32		h = hash_bytes((const unsigned char *) name, strlen(name));
	int			slot = h % lengthof(ls->hash);

	while (ls->hash[slot] != 0)
	{
		if (strcmp(ls->names[ls->hash[slot] - 1], name) == 0)
			return ls->hash[slot] - 1;
		slot = (slot + 1) % lengthof(ls->hash);
	}
	if (ls->n == BERT_MAX_LABELS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: training_data has more than %d distinct labels",
						run->function, BERT_MAX_LABELS)));
	if (strlen(name) > MAX_LABEL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: a label of training_data is longer than %d bytes",
						run->function, MAX_LABEL_BYTES)));
	ls->names[ls->n] = pstrdup(name);
	ls->values[ls->n] = label_is_text(ls) ? (Datum) 0 :
		datumCopy(value, ls->typbyval, ls->typlen);
	ls->hash[slot] = ++ls->n;
	return ls->n - 1;
}

static LabelSet *sort_labels;
static FmgrInfo *sort_cmp;

/* Orders labels by value: text in code-point order, else the type's btree order. */
static int
compare_labels(const void *a, const void *b)
{
	int			i = *(const int *) a;
	int			j = *(const int *) b;

	if (sort_cmp)
	{
		int			c = DatumGetInt32(FunctionCall2Coll(sort_cmp, sort_labels->collation,
														sort_labels->values[i],
														sort_labels->values[j]));

		if (c != 0)
			return c;
	}
	return strcmp(sort_labels->names[i], sort_labels->names[j]);
}

/*
 * Sorts the labels (see compare_labels); *rank_out[provisional id] = the
 * label's id in sorted order.  ERROR unless there are at least two.
 */
static int *
finish_labels(TrainRun *run, LabelSet *ls)
{
	int		   *order = palloc(sizeof(int) * Max(ls->n, 1));
	int		   *rank = palloc(sizeof(int) * Max(ls->n, 1));
	char	   *names[BERT_MAX_LABELS];
	Datum		values[BERT_MAX_LABELS];
	TypeCacheEntry *tc = NULL;

	if (ls->n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: training_data has no labels", run->function),
				 errdetail("No row has a word with a tag.")));
	if (ls->n < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: training_data has only one distinct label", run->function),
				 errdetail("Every row is labelled \"%s\"; a classifier needs at least two labels.",
						   ls->names[0])));
	if (!label_is_text(ls))
		tc = lookup_type_cache(ls->type, TYPECACHE_CMP_PROC_FINFO);
	for (int i = 0; i < ls->n; i++)
		order[i] = i;
	sort_labels = ls;
	sort_cmp = (tc && OidIsValid(tc->cmp_proc_finfo.fn_oid)) ? &tc->cmp_proc_finfo : NULL;
	qsort(order, ls->n, sizeof(int), compare_labels);
	for (int i = 0; i < ls->n; i++)
	{
		rank[order[i]] = i;
		names[i] = ls->names[order[i]];
		values[i] = ls->values[order[i]];
	}
	memcpy(ls->names, names, sizeof(char *) * ls->n);
	memcpy(ls->values, values, sizeof(Datum) * ls->n);
	memset(ls->hash, 0, sizeof(ls->hash));
	pfree(order);
	return rank;
}

/* Raises an error for a failed allocation of the engine. */
static void
check_engine(TrainRun *run, const char *error)
{
	if (error)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("%s: %s", run->function, error)));
}

/*
 * Reads every row of the cursor and hands it to `row`, in a memory context
 * reset every FETCH_ROWS rows; keep is the context for what is kept.
 */
typedef void (*RowFn) (TrainRun *run, HeapTuple tuple, TupleDesc desc,
					   const int *cols, int ncols, MemoryContext keep);

static void
read_rows(TrainRun *run, const char *training_data, int min_cols, int max_cols,
		  const char *expected, RowFn row)
{
	MemoryContext keep = CurrentMemoryContext;
	MemoryContext chunk;
	Portal		portal;
	int			cols[4];
	int			ncols = 0;

	chunk = AllocSetContextCreate(keep, "bert training rows", ALLOCSET_DEFAULT_SIZES);
	SPI_connect();
	portal = open_rows(run, training_data);
	for (;;)
	{
		MemoryContext old;

		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		if (ncols == 0)
			ncols = data_columns(run, SPI_tuptable->tupdesc, cols, min_cols, max_cols,
								 expected);
		old = MemoryContextSwitchTo(chunk);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			row(run, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, cols, ncols, keep);
			run->rows++;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(chunk);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
		report_progress(run, false);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(chunk);
	if (run->rows == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA),
				 errmsg("%s: training_data returned no rows", run->function),
				 errhint("Check the query; training needs at least one labelled row.")));
}

/* (text, label) or (text, text_pair, label) for a sequence classifier. */
static void
sequence_row(TrainRun *run, HeapTuple tuple, TupleDesc desc, const int *cols,
			 int ncols, MemoryContext keep)
{
	int			a_len,
				b_len = 0,
				label_len;
	char	   *a = column_utf8(run, tuple, desc, cols[0], "text", &a_len);
	char	   *b = ncols == 3 ? column_utf8(run, tuple, desc, cols[1], "text_pair", &b_len) : NULL;
	char	   *label = column_utf8(run, tuple, desc, cols[ncols - 1], "label", &label_len);
	bool		isnull;
	Datum		value = SPI_getbinval(tuple, desc, cols[ncols - 1], &isnull);
	BertInput	input;
	MemoryContext old;
	int			id;

	if (b && run->base->config.family == BERT_FAMILY_BERT &&
		run->base->config.type_vocab_size < 2)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("model \"%s\" does not take sentence pairs", run->base->name),
				 errdetail("Its type_vocab_size is %d.", run->base->config.type_vocab_size)));
	if (run->rows == 0)
	{
		Form_pg_attribute att = TupleDescAttr(desc, cols[ncols - 1] - 1);

		run->labels.type = att->atttypid;
		run->labels.collation = att->attcollation;
		get_typlenbyval(att->atttypid, &run->labels.typlen, &run->labels.typbyval);
	}
	BertEncode(&run->base->tokenizer, a, a_len, b, b_len, run->max_len, &input);
	old = MemoryContextSwitchTo(keep);
	id = label_id(run, &run->labels, label, value);
	check_engine(run, BertExamplesAdd(&run->data, input.input_ids, NULL, input.len,
									  b ? input.a_len + 2 : input.len, id));
	MemoryContextSwitchTo(old);
}

/* (words text[], tags text[]) for a token classifier. */
static void
token_row(TrainRun *run, HeapTuple tuple, TupleDesc desc, const int *cols,
		  int ncols, MemoryContext keep)
{
	ArrayType  *arrays[2];
	Datum	   *elems[2];
	bool	   *nulls[2];
	int			n[2];
	const char **words;
	int		   *word_lens;
	int32	   *tags;
	int32	   *ids = palloc(sizeof(int32) * run->max_len);
	int32	   *labels = palloc(sizeof(int32) * run->max_len);
	BertTokens	scratch = {0};
	int			len;
	MemoryContext old;

	(void) ncols;
	for (int c = 0; c < 2; c++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(tuple, desc, cols[c], &isnull);

		if (SPI_gettypeid(desc, cols[c]) != TEXTARRAYOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s: the %s column of training_data must be text[], not %s",
							run->function, c == 0 ? "words" : "tags",
							format_type_be(SPI_gettypeid(desc, cols[c]))),
					 errdetail("Each row gives the words of a text and one tag per word, both as text[]."),
					 errhint("Cast the column to text[] in the training query.")));
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s: row " INT64_FORMAT " of training_data has NULL %s",
							run->function, run->rows + 1, c == 0 ? "words" : "tags")));
		arrays[c] = DatumGetArrayTypeP(d);
		if (ARR_NDIM(arrays[c]) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
					 errmsg("%s: words and tags must be one-dimensional text[]", run->function)));
		deconstruct_array(arrays[c], TEXTOID, -1, false, TYPALIGN_INT, &elems[c],
						  &nulls[c], &n[c]);
		for (int i = 0; i < n[c]; i++)
			if (nulls[c][i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("%s: row " INT64_FORMAT " of training_data has a NULL %s",
								run->function, run->rows + 1, c == 0 ? "word" : "tag")));
	}
	if (n[0] != n[1])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: row " INT64_FORMAT " of training_data has %d words and %d tags",
						run->function, run->rows + 1, n[0], n[1]),
				 errdetail("Every word needs exactly one tag.")));
	words = palloc(sizeof(char *) * Max(n[0], 1));
	word_lens = palloc(sizeof(int) * Max(n[0], 1));
	tags = palloc(sizeof(int32) * Max(n[0], 1));
	for (int i = 0; i < n[0]; i++)
	{
		size_t		wl,
					tl;
		char	   *tag;

		words[i] = BertTextToUtf8(DatumGetTextPP(elems[0][i]), &wl);
		word_lens[i] = (int) wl;
		tag = BertTextToUtf8(DatumGetTextPP(elems[1][i]), &tl);
		tag = pnstrdup(tag, tl);
		old = MemoryContextSwitchTo(keep);
		tags[i] = label_id(run, &run->labels, tag, PointerGetDatum(NULL));
		MemoryContextSwitchTo(old);
	}
	len = BertAlignWords(ids, labels, &run->base->tokenizer, words, word_lens, tags,
						 n[0], run->max_len, &scratch);
	old = MemoryContextSwitchTo(keep);
	check_engine(run, BertExamplesAdd(&run->data, ids, labels, len, len, 0));
	MemoryContextSwitchTo(old);
}

/* An entity of a row of bert_finetune_entities, as read and checked. */
typedef struct EntitySpan
{
	int			index;			/* in the row's array, from 0 */
	int32		start;			/* characters of the text (substr units) */
	int32		end;
	char	   *label;			/* UTF-8 */
	JsonbValue *value;			/* the element, for messages */
	int			first_word;
	int			last_word;
} EntitySpan;

/* UTF-8 of a string in the database encoding, NUL-terminated. */
static char *
server_to_utf8(const char *s, int len)
{
	size_t		l;
	char	   *u = BertTextToUtf8(cstring_to_text_with_len(s, len), &l);

	return pnstrdup(u, l);
}

/* A string in the database encoding for a message, cut after 200 bytes. */
static char *
clip_message_text(const char *s)
{
	int			cut = pg_mbcliplen(s, strlen(s), 200);

	return s[cut] ? psprintf("%.*s...", cut, s) : pstrdup(s);
}

/* A JSON value as text for a message. */
static char *
jsonb_value_text(JsonbValue *v)
{
	Jsonb	   *j = JsonbValueToJsonb(v);

	return clip_message_text(JsonbToCString(NULL, &j->root, VARSIZE(j)));
}

/* UTF-8 bytes as text in the database encoding for a message. */
static char *
utf8_message_text(const char *s, int len)
{
	char	   *server = pg_any_to_server(s, len, PG_UTF8);

	return clip_message_text(server == s ? pnstrdup(s, len) : server);
}

static void entity_error(TrainRun *run, const struct EntitySpan *e,
						 const char *problem, const char *detail,
						 const char *hint) pg_attribute_noreturn();

/* Raises the error for entity e of the current row. */
static void
entity_error(TrainRun *run, const EntitySpan *e, const char *problem,
			 const char *detail, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: entity %d of row " INT64_FORMAT " of training_data %s",
					run->function, e->index + 1, run->rows + 1, problem),
			 detail[0] ? errdetail("Entity %d is %s. %s", e->index + 1,
								   jsonb_value_text(e->value), detail)
			 : errdetail("Entity %d is %s.", e->index + 1, jsonb_value_text(e->value)),
			 errhint("%s", hint)));
}

/* Integer member `key` of an entity object; false when missing or not one. */
static bool
entity_int(JsonbContainer *obj, const char *key, int32 *out)
{
	JsonbValue	v;
	char	   *digits;
	char	   *end;
	long		n;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL ||
		v.type != jbvNumeric)
		return false;
	digits = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v.val.numeric)));
	if (strspn(digits + (digits[0] == '-'), "0123456789") != strlen(digits + (digits[0] == '-')))
		return false;
	errno = 0;
	n = strtol(digits, &end, 10);
	/* far out of range stays out of range */
	if (errno != 0)
		n = digits[0] == '-' ? PG_INT32_MIN : PG_INT32_MAX;
	n = Min(Max(n, PG_INT32_MIN), PG_INT32_MAX);
	*out = (int32) n;
	return true;
}

/*
 * Byte offsets into utf8 (utf8_len bytes, the UTF-8 form of the database
 * text server, server_len bytes) of the character boundaries 0..*nchars, in
 * the units substr() counts (bert_ner's start_char / end_char): code points
 * in UTF8 and the single-byte encodings, bytes in SQL_ASCII, and in other
 * multibyte encodings characters, one converted at a time (a character may
 * stand for several code points).  Returns (*nchars + 1) offsets.
 */
static int32 *
char_byte_offsets(const char *server, int server_len, const char *utf8,
				  int utf8_len, int *nchars)
{
	int			encoding = GetDatabaseEncoding();
	int32	   *map;
	int			n = 0;

	if (encoding == PG_SQL_ASCII)
	{
		map = palloc(sizeof(int32) * (utf8_len + 1));
		for (int i = 0; i <= utf8_len; i++)
			map[i] = i;
		*nchars = utf8_len;
		return map;
	}
	map = palloc(sizeof(int32) * (Max(server_len, utf8_len) + 1));
	if (encoding == PG_UTF8 || pg_encoding_max_length(encoding) == 1)
	{
		for (int b = 0; b < utf8_len; b++)
			if (((unsigned char) utf8[b] & 0xC0) != 0x80)
				map[n++] = b;
	}
	else
	{
		int32		b = 0;

		for (int p = 0; p < server_len;)
		{
			int			l = pg_mblen(server + p);

			map[n++] = b;
			if (l == 1 && !IS_HIGHBIT_SET(server[p]))
				b++;
			else
				b += strlen(pg_server_to_any(server + p, l, PG_UTF8));
			p += l;
		}
	}
	map[n] = utf8_len;
	*nchars = n;
	return map;
}

static int
entity_start_cmp(const void *a, const void *b)
{
	const EntitySpan *x = a;
	const EntitySpan *y = b;

	if (x->start != y->start)
		return (x->start > y->start) - (x->start < y->start);
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * Reads and checks the entities of the current row: an array of
 * {"start", "end", "label"} objects, start < end within the text's nchars
 * characters.  Returns them sorted by start; *n their number.
 */
static EntitySpan *
read_entities(TrainRun *run, Jsonb *jb, int nchars, int *n)
{
	const char *shape = "Entities are a JSON array of objects such as {\"start\": 0, \"end\": 6, \"label\": \"PER\"}: character offsets into the text (end exclusive) and the entity type.";
	EntitySpan *spans;
	int			count;

	if (!JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb))
	{
		JsonbValue	v;

		JsonbToJsonbValue(jb, &v);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the entities of row " INT64_FORMAT " of training_data are not a JSON array",
						run->function, run->rows + 1),
				 errdetail("They are %s.", jsonb_value_text(&v)),
				 errhint("%s Pass '[]' for a text without entities.", shape)));
	}
	count = JB_ROOT_COUNT(jb);
	spans = palloc0(sizeof(EntitySpan) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		JsonbValue *v = getIthJsonbValueFromContainer(&jb->root, i);
		EntitySpan *e = &spans[i];
		JsonbValue	label;

		e->index = i;
		e->value = v;
		if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
			entity_error(run, e, "is not an object", "", shape);
		if (!entity_int(v->val.binary.data, "start", &e->start))
			entity_error(run, e, "has no integer \"start\"", "", shape);
		if (!entity_int(v->val.binary.data, "end", &e->end))
			entity_error(run, e, "has no integer \"end\"", "", shape);
		if (getKeyJsonValueFromContainer(v->val.binary.data, "label", 5, &label) == NULL ||
			label.type != jbvString)
			entity_error(run, e, "has no string \"label\"", "", shape);
		if (label.val.string.len == 0)
			entity_error(run, e, "has an empty label", "",
						 "Give the entity type, such as \"PER\" or \"LOC\".");
		e->label = server_to_utf8(label.val.string.val, label.val.string.len);
		if (strcmp(e->label, "O") == 0)
			entity_error(run, e, "is labelled \"O\"",
						 "\"O\" is the tag of the words outside every entity.",
						 "Give the entity type, such as \"PER\" or \"LOC\"; words outside entities need no entry.");
		if (e->start < 0)
			entity_error(run, e, "starts before the text",
						 "Offsets count characters from 0.", shape);
		if (e->end > nchars)
			entity_error(run, e, "ends past the end of its text",
						 psprintf("The text has %d characters.", nchars), shape);
		if (e->start >= e->end)
			entity_error(run, e, "is empty",
						 "Its end must be greater than its start (the end is exclusive).", shape);
	}
	qsort(spans, count, sizeof(EntitySpan), entity_start_cmp);
	for (int i = 1; i < count; i++)
		if (spans[i].start < spans[i - 1].end)
			entity_error(run, &spans[i], psprintf("overlaps entity %d", spans[i - 1].index + 1),
						 psprintf("Entity %d is %s.", spans[i - 1].index + 1,
								  jsonb_value_text(spans[i - 1].value)),
						 "A word belongs to one entity at most: remove or split the overlapping spans.");
	*n = count;
	return spans;
}

/*
 * The words of entity e (BertWordAt on its byte span [b0, b1) of utf8);
 * ERROR unless it starts at the start of a word and ends at the end of one
 * (spaCy's alignment_mode="strict"), naming the word it cuts.
 */
static void
entity_words(TrainRun *run, EntitySpan *e, const BertTokens *words,
			 const char *utf8, int32 b0, int32 b1)
{
	const char *span = utf8_message_text(utf8 + b0, b1 - b0);

	for (int side = 0; side < 2; side++)
	{
		int			inside;
		int			w = BertWordAt(words->start, words->end, words->n,
								   side ? b1 : b0, side == 1, &inside);

		if (side)
			e->last_word = w;
		else
			e->first_word = w;
		if (w >= 0)
			continue;
		entity_error(run, e,
					 inside >= 0 ? (side ? "ends inside a word" : "starts inside a word")
					 : (side ? "does not end at a word" : "does not start at a word"),
					 inside >= 0
					 ? psprintf("Its span \"%s\" cuts the word \"%s\".", span,
								utf8_message_text(utf8 + words->start[inside],
												  words->end[inside] - words->start[inside]))
					 : psprintf("Its span \"%s\" %s with white space or a character the tokenizer drops.",
								span, side ? "ends" : "starts"),
					 "An entity must start and end on word boundaries as the tokenizer splits the text: at white space, around each punctuation character and each CJK character. Widen or narrow the span to whole words.");
	}
}

/*
 * The text and entities of one (text, entities jsonb) row, type- and
 * NULL-checked.
 */
static void
entity_columns(TrainRun *run, HeapTuple tuple, TupleDesc desc, const int *cols,
			   text **t, Jsonb **jb)
{
	for (int c = 0; c < 2; c++)
	{
		Oid			type = SPI_gettypeid(desc, cols[c]);
		bool		isnull;
		Datum		d;

		if (c == 0 ? (type != TEXTOID && type != VARCHAROID) : type != JSONBOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s: the %s column of training_data must be %s, not %s",
							run->function, c == 0 ? "text" : "entities",
							c == 0 ? "text" : "jsonb", format_type_be(type)),
					 errdetail("Each row gives a text and its entities as a jsonb array of {\"start\", \"end\", \"label\"} objects."),
					 errhint("Cast the column to %s in the training query.",
							 c == 0 ? "text" : "jsonb")));
		d = SPI_getbinval(tuple, desc, cols[c], &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s: row " INT64_FORMAT " of training_data has %s",
							run->function, run->rows + 1, c == 0 ? "a NULL text" : "NULL entities"),
					 errdetail("Every row needs a text and its entities."),
					 errhint(c == 0 ? "Filter NULLs out in the query."
							 : "Pass '[]'::jsonb for a text without entities.")));
		if (c == 0)
			*t = DatumGetTextPP(d);
		else
			*jb = DatumGetJsonbP(d);
	}
}

/*
 * The IOB2 tag ids of `words` (B-<label> on an entity's first word,
 * I-<label> on the others, O elsewhere) from spans sorted by position,
 * their label ids taken in word order as token_row takes them (the label
 * names kept in `keep`).
 */
static int32 *
iob2_tags(TrainRun *run, const EntitySpan *spans, int n_spans,
		  const BertTokens *words, MemoryContext keep)
{
	int32	   *tags = palloc(sizeof(int32) * Max(words->n, 1));
	int32		o_tag = -1;
	MemoryContext old;

	for (int k = 0, w = 0; w < words->n; w++)
	{
		while (k < n_spans && spans[k].last_word < w)
			k++;
		if (k < n_spans && spans[k].first_word <= w)
		{
			char	   *tag = psprintf("%s%s", w == spans[k].first_word ? "B-" : "I-",
									   spans[k].label);

			old = MemoryContextSwitchTo(keep);
			tags[w] = label_id(run, &run->labels, tag, PointerGetDatum(NULL));
			MemoryContextSwitchTo(old);
		}
		else
		{
			if (o_tag < 0)
			{
				old = MemoryContextSwitchTo(keep);
				o_tag = label_id(run, &run->labels, "O", PointerGetDatum(NULL));
				MemoryContextSwitchTo(old);
			}
			tags[w] = o_tag;
		}
	}
	return tags;
}

/*
 * (text, entities jsonb) for a token classifier: the text cut into words
 * as the tokenizer's pre-tokenizer cuts it, IOB2 tags from the entity
 * spans (B-<label> on an entity's first word, I-<label> on the others, O
 * elsewhere), then the words and tags as token_row trains them.
 */
static void
entity_row(TrainRun *run, HeapTuple tuple, TupleDesc desc, const int *cols,
		   int ncols, MemoryContext keep)
{
	const BertTokenizer *tok = &run->base->tokenizer;
	text	   *t = NULL;
	Jsonb	   *jb = NULL;
	size_t		utf8_len;
	char	   *utf8;
	int32	   *char_bytes;
	int			nchars;
	EntitySpan *spans;
	int			n_spans;
	BertTokens	words = {0};
	BertTokens	scratch = {0};
	const char **word_ptrs;
	int		   *word_lens;
	int32	   *tags;
	int32	   *ids = palloc(sizeof(int32) * run->max_len);
	int32	   *labels = palloc(sizeof(int32) * run->max_len);
	int			len;
	MemoryContext old;

	(void) ncols;
	entity_columns(run, tuple, desc, cols, &t, &jb);
	utf8 = BertTextToUtf8(t, &utf8_len);
	char_bytes = char_byte_offsets(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), utf8,
								   (int) utf8_len, &nchars);
	spans = read_entities(run, jb, nchars, &n_spans);
	BertPreTokenize(tok, utf8, utf8_len, &words);
	for (int k = 0; k < n_spans; k++)
		entity_words(run, &spans[k], &words, utf8, char_bytes[spans[k].start],
					 char_bytes[spans[k].end]);

	tags = iob2_tags(run, spans, n_spans, &words, keep);
	word_ptrs = palloc(sizeof(char *) * Max(words.n, 1));
	word_lens = palloc(sizeof(int) * Max(words.n, 1));
	for (int w = 0; w < words.n; w++)
	{
		word_ptrs[w] = utf8 + words.start[w];
		word_lens[w] = words.end[w] - words.start[w];
	}
	len = BertAlignWords(ids, labels, tok, word_ptrs, word_lens, tags, words.n,
						 run->max_len, &scratch);
	old = MemoryContextSwitchTo(keep);
	check_engine(run, BertExamplesAdd(&run->data, ids, labels, len, len, 0));
	MemoryContextSwitchTo(old);
}

/* (document text) for pre-training: its sentences, tokenized. */
static void
document_row(TrainRun *run, HeapTuple tuple, TupleDesc desc, const int *cols,
			 int ncols, MemoryContext keep)
{
	int			len;
	char	   *text = column_utf8(run, tuple, desc, cols[0], "document", &len);
	int		   *starts = palloc(sizeof(int) * (len / 2 + 1));
	int		   *ends = palloc(sizeof(int) * (len / 2 + 1));
	int			n = BertSplitSentences(text, len, starts, ends, len / 2 + 1);
	BertTokens	tokens = {0};

	(void) ncols;
	for (int i = 0; i < n; i++)
	{
		MemoryContext old;

		tokens.n = 0;
		BertTokenize(&run->base->tokenizer, text + starts[i], ends[i] - starts[i],
					 run->max_len - 3, &tokens);
		if (tokens.n == 0)
			continue;
		old = MemoryContextSwitchTo(keep);
		check_engine(run, BertExamplesAdd(&run->data, tokens.ids, NULL, tokens.n,
										  tokens.n, (int32) run->rows));
		MemoryContextSwitchTo(old);
	}
}

/* Turns provisional label ids into sorted ids in every example. */
static void
relabel(TrainRun *run, const int *rank)
{
	for (int i = 0; i < run->data.n; i++)
	{
		BertExample *e = &run->data.ex[i];

		if (run->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
			e->label = rank[e->label];
		else
			for (int j = 0; j < e->len; j++)
			{
				int32	   *l = &run->data.token_labels[e->offset + j];

				if (*l != BERT_IGNORE_INDEX)
					*l = rank[*l];
			}
	}
}

/*
 * Holds out ceil(share * n) of the n examples (at least one stays for
 * training), chosen by the seeded generator.
 */
static void
split_examples(TrainRun *run, int n)
{
	int		   *perm = palloc(sizeof(int) * n);
	int			n_val = (int) ceil(run->opt.validation_share * n);

	n_val = Min(n_val, n - 1);
	for (int i = 0; i < n; i++)
		perm[i] = i;
	BertRngShuffle(&run->data_rng, perm, n);
	/* keep both parts in data order */
	run->val_idx = palloc(sizeof(int) * Max(n_val, 1));
	run->train_idx = palloc(sizeof(int) * n);
	{
		bool	   *is_val = palloc0(sizeof(bool) * n);

		for (int i = 0; i < n_val; i++)
			is_val[perm[i]] = true;
		run->n_val = run->n_train = 0;
		for (int i = 0; i < n; i++)
		{
			if (is_val[i])
				run->val_idx[run->n_val++] = i;
			else
				run->train_idx[run->n_train++] = i;
		}
		pfree(is_val);
	}
	pfree(perm);
}

/*
 * Pre-training: holds out whole documents (as split_examples over the
 * documents) into run->val_data; the training sentences stay in run->data.
 */
static void
split_documents(TrainRun *run)
{
	BertExampleSet all = run->data;
	int			n_docs = (int) run->rows;
	bool		pairs = false;

	split_examples(run, n_docs);
	{
		bool	   *is_val = palloc0(sizeof(bool) * Max(n_docs, 1));

		for (int i = 0; i < run->n_val; i++)
			is_val[run->val_idx[i]] = true;
		BertExamplesInit(&run->data, false);
		BertExamplesInit(&run->val_data, false);
		for (int i = 0; i < all.n; i++)
		{
			BertExample *e = &all.ex[i];

			if (i + 1 < all.n && all.ex[i + 1].label == e->label)
				pairs = true;
			check_engine(run, BertExamplesAdd(is_val[e->label] ? &run->val_data : &run->data,
											  all.ids + e->offset, NULL, e->len, e->len,
											  e->label));
		}
		pfree(is_val);
	}
	BertExamplesFree(&all);
	if (!pairs)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: no document of training_data has two sentences", run->function),
				 errdetail("Next-sentence prediction pairs a sentence with the one after it in its document."),
				 errhint("Pass one document per row, with its sentences ending in \".\", \"!\" or \"?\" or on lines of their own.")));
}

/* Pairs of sentences with a successor in their document. */
static int
count_pairs(const BertExampleSet *s)
{
	int			n = 0;

	for (int i = 0; i + 1 < s->n; i++)
		n += s->ex[i + 1].label == s->ex[i].label;
	return n;
}

/* ----------------------------------------------------------------
 * The trainer
 * ---------------------------------------------------------------- */

/* A number from the base's config.json, or def. */
static double
config_number(TrainRun *run, const char *key, double def)
{
	const BertJson *v = BertJsonGet(run->base_config, key);

	if (v && v->type == BERT_JSON_NUMBER)
		return strtod(v->str, NULL);
	return def;
}

/* True when the base's head is the task's and names exactly these labels. */
static bool
base_head_matches(TrainRun *run, int *perm)
{
	const BertConfig *bc = &run->base->config;
	BertHeadKind head;

	(void) BertTaskHead(run->task, bc->family, &head);
	if (bc->head != head || bc->num_labels != run->labels.n)
		return false;
	for (int i = 0; i < run->labels.n; i++)
	{
		perm[i] = -1;
		for (int j = 0; j < bc->num_labels; j++)
			if (strcmp(bc->id2label[j], run->labels.names[i]) == 0)
				perm[i] = j;
		if (perm[i] < 0)
			return false;
	}
	return true;
}

/* Sets up the trainer from the base: weights, new heads, dropout. */
static void
configure_trainer(TrainRun *run)
{
	BertConfig	cfg = run->base->config;
	BertTrainer *t = &run->trainer;
	BertRng		init_rng;
	bool		distil = cfg.family == BERT_FAMILY_DISTILBERT;
	int		   *perm = palloc(sizeof(int) * Max(run->labels.n, 1));
	bool		keep_head = false;
	double		hidden,
				attention,
				classifier;

	if (run->task != BERT_TASK_PRETRAINING)
	{
		cfg.num_labels = run->labels.n;
		cfg.id2label = run->labels.names;
		keep_head = base_head_matches(run, perm);
	}
	check_engine(run, BertTrainerCreate(t, &cfg, run->task));
	BertTrainerLoadWeights(t, &run->base->weights, run->base->config.num_hidden_layers,
						   keep_head);
	BertMappingCheck(run->base);
	if (keep_head)
		BertTrainerPermuteLabels(t, perm);
	BertRngSeed(&init_rng, (uint64) run->opt.seed);
	BertTrainerInitMissing(t, &init_rng, config_number(run, "initializer_range", 0.02));
	t->pad_id = run->base->tokenizer.pad_id;
	BertRngSeed(&t->rng, (uint64) run->opt.seed ^ UINT64CONST(0x5deece66d));

	/* dropout: Hugging Face's config names, or the override for all */
	hidden = config_number(run, distil ? "dropout" : "hidden_dropout_prob", 0.1);
	attention = config_number(run, distil ? "attention_dropout" : "attention_probs_dropout_prob", 0.1);
	if (distil && run->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
		classifier = config_number(run, "seq_classif_dropout", 0.2);
	else if (distil)
		classifier = hidden;
	else
		classifier = config_number(run, "classifier_dropout", hidden);
	if (run->opt.dropout >= 0)
		hidden = attention = classifier = run->opt.dropout;
	t->hidden_dropout = (float) Min(Max(hidden, 0.0), 0.99);
	t->attention_dropout = (float) Min(Max(attention, 0.0), 0.99);
	t->classifier_dropout = (float) Min(Max(classifier, 0.0), 0.99);
}

/* ----------------------------------------------------------------
 * Training
 * ---------------------------------------------------------------- */

/* Masks every sequence of a pre-training batch packed in buf (BertMaskTokens). */
static void
mask_batch(TrainRun *run, BertBatchBuffers *buf, int n, BertRng *rng)
{
	for (int s = 0; s < n; s++)
	{
		int			first = buf->seq_start[s];

		BertMaskTokens(buf->ids + first, buf->labels + first,
					   buf->seq_start[s + 1] - first, &run->base->tokenizer,
					   run->trainer.config.vocab_size, run->opt.mlm_probability, rng);
	}
}

/*
 * Mean loss and accuracy over the held-out examples, dropout off; for
 * pre-training over pairs and masks drawn from a generator seeded the same
 * way every time, so every epoch sees the same validation batches.
 */
static void
evaluate(TrainRun *run, EpochResult *r)
{
	BertExampleSet pairs;
	const BertExampleSet *set = &run->data;
	int		   *order = run->val_idx;
	int			n = run->n_val;
	BertBatchBuffers buf = {0};
	BertRng		rng;
	double		loss_sum = 0.0;
	int64		targets = 0,
				correct = 0,
				batches = 0;

	r->validation_loss = r->validation_accuracy = get_float8_nan();
	if (run->task == BERT_TASK_PRETRAINING)
	{
		BertRngSeed(&rng, (uint64) run->opt.seed + 1);
		BertExamplesInit(&pairs, false);
		check_engine(run, BertNextSentencePairs(&pairs, &run->val_data, &run->base->tokenizer,
												run->max_len, &rng));
		set = &pairs;
		n = pairs.n;
		order = palloc(sizeof(int) * Max(n, 1));
		for (int i = 0; i < n; i++)
			order[i] = i;
	}
	if (n == 0)
		return;
	run->phase = "evaluating";
	for (int first = 0; first < n; first += run->opt.batch_size)
	{
		int			m = Min(run->opt.batch_size, n - first);
		BertTrainBatch b;
		BertTrainResult res;

		BertExamplesBatch(set, order + first, m, run->task, &buf, &b);
		if (run->task == BERT_TASK_PRETRAINING)
			mask_batch(run, &buf, m, &rng);
		check_engine(run, BertTrainForward(&run->trainer, &b, false, &res));
		/* sequence tasks average per sequence, token tasks per target */
		if (run->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
			loss_sum += res.loss * m;
		else if (run->task == BERT_TASK_TOKEN_CLASSIFICATION)
			loss_sum += res.loss * res.targets;
		else
			loss_sum += res.loss;
		targets += res.targets;
		correct += res.correct;
		batches++;
		CHECK_FOR_INTERRUPTS();
		report_progress(run, false);
	}
	if (run->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
		r->validation_loss = loss_sum / n;
	else if (run->task == BERT_TASK_TOKEN_CLASSIFICATION)
		r->validation_loss = targets ? loss_sum / targets : get_float8_nan();
	else
		r->validation_loss = loss_sum / batches;
	r->validation_accuracy = targets ? (double) correct / targets : get_float8_nan();
	if (run->task == BERT_TASK_PRETRAINING)
		BertExamplesFree(&pairs);
	run->phase = "training";
}

/* Steps per epoch, total steps and warmup steps, as Hugging Face Trainer. */
static void
plan_steps(TrainRun *run, int examples_per_epoch)
{
	run->steps_per_epoch = (examples_per_epoch + run->opt.batch_size - 1) / run->opt.batch_size;
	run->total_steps = (int64) ceil(run->opt.epochs * run->steps_per_epoch - 1e-9);
	run->total_steps = Max(run->total_steps, 1);
	run->warmup_steps = run->opt.warmup_steps > 0 ? run->opt.warmup_steps :
		(int64) ceil(run->opt.warmup_ratio * run->total_steps - 1e-9);
}

/* The training loop; one EpochResult per (possibly partial) epoch. */
static void
train(TrainRun *run)
{
	BertTrainer *t = &run->trainer;
	BertBatchBuffers buf = {0};
	BertExampleSet pairs;
	int		   *order = NULL;
	int			n_epochs = (int) ((run->total_steps + run->steps_per_epoch - 1) / run->steps_per_epoch);

	run->results = palloc0(sizeof(EpochResult) * n_epochs);
	run->phase = "training";
	report_progress(run, true);
	BertExamplesInit(&pairs, false);
	for (int epoch = 1; epoch <= n_epochs && run->step < run->total_steps; epoch++)
	{
		const BertExampleSet *set = &run->data;
		int			n = run->n_train;
		EpochResult *r = &run->results[run->n_results++];
		double		loss_sum = 0.0;
		int64		epoch_steps = 0;

		run->epoch = epoch;
		if (run->task == BERT_TASK_PRETRAINING)
		{
			BertExamplesFree(&pairs);
			check_engine(run, BertNextSentencePairs(&pairs, &run->data, &run->base->tokenizer,
													run->max_len, &run->data_rng));
			set = &pairs;
			n = pairs.n;
			if (order)
				pfree(order);
			order = palloc(sizeof(int) * Max(n, 1));
			for (int i = 0; i < n; i++)
				order[i] = i;
		}
		else if (order == NULL)
		{
			order = palloc(sizeof(int) * Max(n, 1));
			memcpy(order, run->train_idx, sizeof(int) * n);
		}
		if (run->opt.shuffle)
			BertRngShuffle(&run->data_rng, order, n);

		for (int first = 0; first < n && run->step < run->total_steps;
			 first += run->opt.batch_size)
		{
			int			m = Min(run->opt.batch_size, n - first);
			BertTrainBatch b;
			BertTrainResult res;
			double		lr = BertLinearSchedule(run->step, run->warmup_steps,
												run->total_steps, run->opt.learning_rate);

			CHECK_FOR_INTERRUPTS();
			BertExamplesBatch(set, order + first, m, run->task, &buf, &b);
			if (run->task == BERT_TASK_PRETRAINING)
				mask_batch(run, &buf, m, &run->data_rng);
			check_engine(run, BertTrainForward(t, &b, true, &res));
			if (!isfinite(res.loss))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("%s: the training loss is not finite at step " INT64_FORMAT,
								run->function, run->step + 1),
						 errhint("Lower learning_rate.")));
			BertTrainZeroGrad(t);
			BertTrainBackward(t, &b);
			BertClipGradNorm(t, run->opt.max_grad_norm);
			BertAdamWUpdate(t, &run->opt.adamw, lr);
			loss_sum += res.loss;
			epoch_steps++;
			run->step++;
			run->examples_done += m;
			run->loss = loss_sum / epoch_steps;
			report_progress(run, false);
		}
		r->epoch = epoch;
		r->steps = run->step;
		r->train_loss = epoch_steps ? loss_sum / epoch_steps : get_float8_nan();
		evaluate(run, r);
		r->seconds = seconds_since(run->started);
	}
}

/* ----------------------------------------------------------------
 * Writing the model
 * ---------------------------------------------------------------- */

/* Raises an ERROR for a failed file operation. */
static void
check_io(TrainRun *run, const char *error)
{
	if (error)
		ereport(ERROR,
				(errcode(ERRCODE_IO_ERROR),
				 errmsg("%s: could not write model \"%s\"", run->function, run->name),
				 errdetail("%s", error),
				 errhint("The server's operating-system user must be able to write bert.model_dir.")));
}

/* config.json of the trained model: the base's, with architecture and labels. */
static char *
model_config(TrainRun *run)
{
	BertJsonEdit edits[8];
	int			n = 0;
	bool		distil = run->trainer.config.family == BERT_FAMILY_DISTILBERT;
	StringInfoData id2label,
				label2id;

	initStringInfo(&id2label);
	initStringInfo(&label2id);
	edits[n].key = "architectures";
	edits[n++].json = psprintf("[%s]", BertJsonQuote(run->trainer.config.architecture));
	edits[n].key = "model_type";
	edits[n++].json = distil ? "\"distilbert\"" : "\"bert\"";
	if (run->task == BERT_TASK_PRETRAINING)
	{
		edits[n].key = "id2label";
		edits[n++].json = NULL;
		edits[n].key = "label2id";
		edits[n++].json = NULL;
		edits[n].key = "problem_type";
		edits[n++].json = NULL;
	}
	else
	{
		appendStringInfoChar(&id2label, '{');
		appendStringInfoChar(&label2id, '{');
		for (int i = 0; i < run->labels.n; i++)
		{
			char	   *q = BertJsonQuote(run->labels.names[i]);

			appendStringInfo(&id2label, "%s\"%d\": %s", i ? ", " : "", i, q);
			appendStringInfo(&label2id, "%s%s: %d", i ? ", " : "", q, i);
		}
		appendStringInfoChar(&id2label, '}');
		appendStringInfoChar(&label2id, '}');
		edits[n].key = "id2label";
		edits[n++].json = id2label.data;
		edits[n].key = "label2id";
		edits[n++].json = label2id.data;
		if (run->task == BERT_TASK_SEQUENCE_CLASSIFICATION)
		{
			edits[n].key = "problem_type";
			edits[n++].json = "\"single_label_classification\"";
		}
	}
	edits[n].key = "num_labels";
	edits[n++].json = NULL;
	edits[n].key = "torch_dtype";
	edits[n++].json = "\"float32\"";
	return BertJsonWithEdits(run->base_config, edits, n);
}

/* The tokenizer files of the base, copied when present and inside the root. */
static void
copy_tokenizer_files(TrainRun *run)
{
	static const char *const files[] = {
		"vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"
	};
	char		real_root[PATH_MAX];

	if (realpath(run->root, real_root) == NULL)
		check_io(run, psprintf("could not resolve bert.model_dir: %m"));
	for (int i = 0; i < (int) lengthof(files); i++)
	{
		char	   *from = psprintf("%s/%s", run->base->path, files[i]);
		char		real[PATH_MAX];

		if (BertResolveInside(from, real_root, real) != BERT_PATH_INSIDE)
			continue;
		check_io(run, BertCopyFile(real, psprintf("%s/%s", run->tmp, files[i])));
	}
}

/* Writes the model into the temporary directory, then renames it into place. */
static void
write_model(TrainRun *run)
{
	char	   *config = model_config(run);
	struct stat st;

	run->phase = "writing";
	report_progress(run, true);
	if (unlink(psprintf("%s/%s", run->tmp, PROGRESS_FILE)) != 0)
		check_io(run, psprintf("could not remove the progress file: %m"));
	check_io(run, BertWriteFile(psprintf("%s/config.json", run->tmp), config, strlen(config)));
	check_io(run, BertWriteSafetensors(psprintf("%s/model.safetensors", run->tmp),
									   &run->trainer));
	copy_tokenizer_files(run);
	check_io(run, BertFsyncPath(run->tmp));

	if (lstat(run->path, &st) != 0)
	{
		if (rename(run->tmp, run->path) != 0)
			check_io(run, psprintf("could not rename \"%s\" to \"%s\": %m", run->tmp, run->path));
	}
	else if (!run->opt.replace || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", run->name),
				 errdetail("Another session created it during training.")));
	else
	{
		/* swap the directories, then remove the old model (now at tmp) */
		const char *error;

		if (renameat2(AT_FDCWD, run->tmp, AT_FDCWD, run->path, RENAME_EXCHANGE) != 0)
			check_io(run, psprintf("could not replace \"%s\": %m", run->path));
		/* the new model is in place: failing to remove the old one is no error */
		error = BertRemoveTree(run->tmp);
		if (error)
			ereport(WARNING,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("%s: could not remove the replaced model \"%s\"",
							run->function, run->name),
					 errdetail("%s", error),
					 errhint("Remove the directory \"%s\" by hand.", run->tmp)));
	}
	check_io(run, BertFsyncPath(run->root));
}

/* Removes the temporary directory of a failed run (ERROR or FATAL). */
static void
cleanup_run(int code, Datum arg)
{
	(void) code;
	(void) arg;
	if (cleanup_dir[0] != '\0')
		(void) BertRemoveTree(cleanup_dir);
	cleanup_dir[0] = '\0';
}

/* Removes temporary directories left by runs of processes that are gone. */
static void
remove_stale_runs(const char *root)
{
	DIR		   *dir = AllocateDir(root);
	struct dirent *de;

	while ((de = ReadDir(dir, root)) != NULL)
	{
		int			pid;

		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0 ||
			sscanf(de->d_name + strlen(TMP_PREFIX), "%d-", &pid) != 1)
			continue;
		if (pid > 0 && pid != MyProcPid && kill(pid, 0) != 0 && errno == ESRCH)
			(void) BertRemoveTree(psprintf("%s/%s", root, de->d_name));
	}
	FreeDir(dir);
}

/* ----------------------------------------------------------------
 * SQL entry points
 * ---------------------------------------------------------------- */

/* Returns the epoch rows. */
static void
return_results(FunctionCallInfo fcinfo, TrainRun *run)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < run->n_results; i++)
	{
		EpochResult *r = &run->results[i];
		Datum		values[6];
		bool		nulls[6] = {0};

		values[0] = Int32GetDatum(r->epoch);
		values[1] = Int64GetDatum(r->steps);
		values[2] = Float8GetDatum(r->train_loss);
		values[3] = Float8GetDatum(r->validation_loss);
		values[4] = Float8GetDatum(r->validation_accuracy);
		values[5] = Float8GetDatum(r->seconds);
		nulls[3] = isnan(r->validation_loss);
		nulls[4] = isnan(r->validation_accuracy);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* The whole run of every training function (see the file header). */
static void
run_training(FunctionCallInfo fcinfo, BertTask task, const char *function,
			 bool entities)
{
	TrainRun   *run = palloc0(sizeof(TrainRun));
	struct timeval tv;

	run->function = function;
	run->task = task;
	read_options(fcinfo, function, &run->opt, task == BERT_TASK_PRETRAINING);
	require_writer(function);
	run->name = text_to_cstring(PG_GETARG_TEXT_PP(ARG_MODEL));
	check_destination(run);
	load_base(run, text_to_cstring(PG_GETARG_TEXT_PP(ARG_BASE)));
	BertRngSeed(&run->data_rng, (uint64) run->opt.seed);
	run->labels.type = TEXTOID;
	BertExamplesInit(&run->data, task == BERT_TASK_TOKEN_CLASSIFICATION);
	INSTR_TIME_SET_CURRENT(run->started);
	run->last_notice = run->started;
	run->phase = "reading rows";

	if (cleanup_dir[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("%s: another training run is active in this session", function)));
	remove_stale_runs(run->root);
	gettimeofday(&tv, NULL);
	snprintf(run->tmp, sizeof(run->tmp), "%s/%s%d-%ld%06ld", run->root, TMP_PREFIX,
			 MyProcPid, (long) tv.tv_sec, (long) tv.tv_usec);
	if (mkdir(run->tmp, 0755) != 0)
		check_io(run, psprintf("could not create \"%s\": %m", run->tmp));
	strlcpy(cleanup_dir, run->tmp, sizeof(cleanup_dir));

	PG_ENSURE_ERROR_CLEANUP(cleanup_run, (Datum) 0);
	{
		const char *data = text_to_cstring(PG_GETARG_TEXT_PP(ARG_DATA));

		write_progress(run);
		BertBlasSetThreads(bert_threads);
		switch (task)
		{
			case BERT_TASK_SEQUENCE_CLASSIFICATION:
				read_rows(run, data, 2, 3, "(text, label) or (text, text_pair, label)",
						  sequence_row);
				break;
			case BERT_TASK_TOKEN_CLASSIFICATION:
				if (entities)
					read_rows(run, data, 2, 2, "(text, entities jsonb)", entity_row);
				else
					read_rows(run, data, 2, 2, "(words text[], tags text[])", token_row);
				break;
			case BERT_TASK_PRETRAINING:
				read_rows(run, data, 1, 1, "(document text)", document_row);
				break;
		}
		if (task == BERT_TASK_PRETRAINING)
		{
			split_documents(run);
			if (count_pairs(&run->data) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s: no training document has two sentences", function),
						 errdetail("The documents with several sentences were all held out for validation."),
						 errhint("Lower validation_share or add documents.")));
			plan_steps(run, count_pairs(&run->data));
		}
		else
		{
			relabel(run, finish_labels(run, &run->labels));
			split_examples(run, run->data.n);
			plan_steps(run, run->n_train);
		}
		configure_trainer(run);
		train(run);
		write_model(run);
	}
	PG_END_ENSURE_ERROR_CLEANUP(cleanup_run, (Datum) 0);
	cleanup_dir[0] = '\0';
	BertTrainerFree(&run->trainer);
	return_results(fcinfo, run);
}

/*
 * bert_finetune(model_name, base_model, training_data, epochs, ...)
 *   -> TABLE(epoch, steps, train_loss, validation_loss, validation_accuracy,
 *            seconds)
 * Fine-tunes a sequence classifier on (text, label) or (text, text_pair,
 * label) rows and writes it as model_name (see the file header).
 */
PG_FUNCTION_INFO_V1(bert_finetune);
Datum
bert_finetune(PG_FUNCTION_ARGS)
{
	run_training(fcinfo, BERT_TASK_SEQUENCE_CLASSIFICATION, "bert_finetune", false);
	return (Datum) 0;
}

/*
 * bert_finetune_tokens(model_name, base_model, training_data, ...)
 * Fine-tunes a token classifier on (words text[], tags text[]) rows.
 */
PG_FUNCTION_INFO_V1(bert_finetune_tokens);
Datum
bert_finetune_tokens(PG_FUNCTION_ARGS)
{
	run_training(fcinfo, BERT_TASK_TOKEN_CLASSIFICATION, "bert_finetune_tokens", false);
	return (Datum) 0;
}

/*
 * bert_finetune_entities(model_name, base_model, training_data, ...)
 * Fine-tunes a token classifier on (text, entities jsonb) rows: entities
 * an array of {"start", "end", "label"} character spans of the text (end
 * exclusive, substr() units, as bert_ner returns them), turned into the
 * pre-tokenizer's words with IOB2 tags (entity_row).  Equivalent to
 * bert_finetune_tokens on those words and tags.
 */
PG_FUNCTION_INFO_V1(bert_finetune_entities);
Datum
bert_finetune_entities(PG_FUNCTION_ARGS)
{
	run_training(fcinfo, BERT_TASK_TOKEN_CLASSIFICATION, "bert_finetune_entities", true);
	return (Datum) 0;
}

/*
 * bert_pretrain(model_name, base_model, training_data, ..., mlm_probability)
 * Continues pre-training (masked LM + next sentence) on (document text)
 * rows and writes a BertForPreTraining model.
 */
PG_FUNCTION_INFO_V1(bert_pretrain);
Datum
bert_pretrain(PG_FUNCTION_ARGS)
{
	run_training(fcinfo, BERT_TASK_PRETRAINING, "bert_pretrain", false);
	return (Datum) 0;
}

/* A string member of a progress file, or "". */
static const char *
progress_string(const BertJson *root, const char *key)
{
	char	   *error = NULL;
	const char *s = BertJsonGetString(root, key, &error);

	return s ? s : "";
}

static double
progress_number(const BertJson *root, const char *key)
{
	const BertJson *v = BertJsonGet(root, key);

	return v && v->type == BERT_JSON_NUMBER ? strtod(v->str, NULL) : 0.0;
}

/*
 * bert_training_progress() -> TABLE(pid, function, model, base_model, phase,
 *     rows, epoch, epochs, step, total_steps, loss, rows_per_second,
 *     seconds_elapsed, seconds_left, memory_bytes, updated)
 * The training runs of every session of this server, from the progress
 * files they write into bert.model_dir every few seconds.
 */
PG_FUNCTION_INFO_V1(bert_training_progress);
Datum
bert_training_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	DIR		   *dir;
	struct dirent *de;

	InitMaterializedSRF(fcinfo, 0);
	if (bert_model_dir == NULL || bert_model_dir[0] == '\0')
		return (Datum) 0;
	dir = AllocateDir(bert_model_dir);
	if (dir == NULL)
		return (Datum) 0;
	while ((de = ReadDirExtended(dir, bert_model_dir, LOG)) != NULL)
	{
		char	   *path;
		int			fd;
		char		buf[8192];
		ssize_t		n;
		char	   *error = NULL;
		BertJson   *root;
		Datum		values[16];
		bool		nulls[16] = {0};
		int			pid;
		double		left;

		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		path = psprintf("%s/%s/%s", bert_model_dir, de->d_name, PROGRESS_FILE);
		fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		CloseTransientFile(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		root = BertJsonParse(buf, (int) n, &error);
		if (root == NULL)
			continue;
		pid = (int) progress_number(root, "pid");
		if (BackendPidGetProc(pid) == NULL)
			continue;			/* a run whose backend is gone */
		left = progress_number(root, "seconds_left");
		values[0] = Int32GetDatum(pid);
		values[1] = CStringGetTextDatum(progress_string(root, "function"));
		values[2] = PointerGetDatum(BertCStringToText(progress_string(root, "model")));
		values[3] = PointerGetDatum(BertCStringToText(progress_string(root, "base_model")));
		values[4] = CStringGetTextDatum(progress_string(root, "phase"));
		values[5] = Int64GetDatum((int64) progress_number(root, "rows"));
		values[6] = Int32GetDatum((int32) progress_number(root, "epoch"));
		values[7] = Float8GetDatum(progress_number(root, "epochs"));
		values[8] = Int64GetDatum((int64) progress_number(root, "step"));
		values[9] = Int64GetDatum((int64) progress_number(root, "total_steps"));
		values[10] = Float8GetDatum(progress_number(root, "loss"));
		values[11] = Float8GetDatum(progress_number(root, "rows_per_second"));
		values[12] = Float8GetDatum(progress_number(root, "seconds_elapsed"));
		values[13] = Float8GetDatum(left);
		nulls[13] = left < 0;
		values[14] = Int64GetDatum((int64) progress_number(root, "memory_bytes"));
		values[15] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) progress_number(root, "updated")));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	FreeDir(dir);
	return (Datum) 0;
}
