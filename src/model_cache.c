/*
 * model_cache.c
 *		Per-backend cache of loaded models.
 *
 * Entries are keyed by the model's directory path (bert.model_dir + "/" +
 * name).  Every lookup re-checks the identity (device, inode, size, mtime,
 * ctime)
 * of the directory, config.json and model.safetensors with stat(): three
 * system calls, cheap next to a forward pass, and they catch a directory
 * replaced by rename, a name now resolving elsewhere, and a weights file
 * changed in place before its stale mapping is read.  A changed entry is
 * dropped and loaded again.  Each model's memory context hangs under
 * cache_context; dropping a model deletes its context, which unmaps it.
 */
#include "postgres.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "utils/memutils.h"

#include "bert.h"
#include "weight_cache.h"

#define BERT_MAX_CACHED_MODELS 8
#define BERT_MAX_MODEL_NAME 255

typedef struct FileIdentity
{
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec mtime;
	struct timespec ctime;		/* also catches an edit that restored mtime */
} FileIdentity;

typedef struct CacheEntry
{
	char		path[MAXPGPATH];
	FileIdentity ids[3];		/* directory, config.json, model.safetensors */
	uint64		last_used;
	BertModel  *model;
} CacheEntry;

static MemoryContext cache_context = NULL;
static CacheEntry cache[BERT_MAX_CACHED_MODELS];
static uint64 use_counter = 0;

static const char *const watched_files[3] = {"", "/config.json", "/model.safetensors"};

/* stat()s the watched files of a model directory; false if one is missing. */
static bool
read_identity(const char *dir, FileIdentity *ids)
{
	char		path[MAXPGPATH];
	struct stat st;

	for (int i = 0; i < 3; i++)
	{
		snprintf(path, sizeof(path), "%s%s", dir, watched_files[i]);
		if (stat(path, &st) != 0)
			return false;
		ids[i].dev = st.st_dev;
		ids[i].ino = st.st_ino;
		ids[i].size = st.st_size;
		ids[i].mtime = st.st_mtim;
		ids[i].ctime = st.st_ctim;
	}
	return true;
}

static bool
same_identity(const FileIdentity *a, const FileIdentity *b)
{
	for (int i = 0; i < 3; i++)
		if (a[i].dev != b[i].dev || a[i].ino != b[i].ino ||
			a[i].size != b[i].size ||
			a[i].mtime.tv_sec != b[i].mtime.tv_sec ||
			a[i].mtime.tv_nsec != b[i].mtime.tv_nsec ||
			a[i].ctime.tv_sec != b[i].ctime.tv_sec ||
			a[i].ctime.tv_nsec != b[i].ctime.tv_nsec)
			return false;
	return true;
}

static void
drop_entry(CacheEntry *e)
{
	if (e->model)
		MemoryContextDelete((MemoryContext) e->model->memory);
	memset(e, 0, sizeof(*e));
}

/* True if resolved path `path` lies strictly inside resolved directory `root`. */
bool
BertPathInside(const char *path, const char *root)
{
	size_t		len = strlen(root);

	if (len > 0 && root[len - 1] == '/')
		len--;					/* root is "/" */
	return strncmp(path, root, len) == 0 && path[len] == '/' && path[len + 1] != '\0';
}

/* Checks a model name and builds its directory path; raises errors. */
static void
model_path(const char *name, const char *setting, char *path)
{
	if (bert_model_dir == NULL || bert_model_dir[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("bert.model_dir is not set"),
				 errdetail("Models are loaded from sub-directories of bert.model_dir."),
				 errhint("A superuser can run: ALTER SYSTEM SET bert.model_dir = '/path/to/models'; SELECT pg_reload_conf();")));
	if ((name == NULL || name[0] == '\0') && setting != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no model given and %s is not set", setting),
				 errhint("Pass the model name as the last argument, or SET %s = 'model_name'.",
						 setting)));
	if (name == NULL || name[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be empty"),
				 errhint("Pass the name of a sub-directory of bert.model_dir.")));
	if (strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
		strcmp(name, "..") == 0 || strlen(name) > BERT_MAX_MODEL_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid model name \"%s\"", name),
				 errdetail("A model name is the name of a sub-directory of bert.model_dir: no \"/\", not \".\" or \"..\", at most %d bytes.",
						   BERT_MAX_MODEL_NAME),
				 errhint("Call SELECT * FROM bert_models() or list bert.model_dir to see the names.")));
	if (strlen(bert_model_dir) + strlen(name) + 2 > MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("model path is too long")));
	snprintf(path, MAXPGPATH, "%s/%s", bert_model_dir, name);
}

/* Resolves path and root, and checks that path lies inside root. */
static void
resolve_inside(const char *name, const char *path, char *real, char *real_root)
{
	struct stat st;

	if (realpath(bert_model_dir, real_root) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access bert.model_dir \"%s\": %m", bert_model_dir),
				 errhint("Set bert.model_dir to an existing directory readable by the server.")));
	if (stat(path, &st) != 0 && errno != ENOENT && errno != ENOTDIR)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access model \"%s\": %m", name),
				 errhint("The server's operating-system user must be able to enter bert.model_dir and read the model directory.")));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errdetail("bert.model_dir has no sub-directory \"%s\".", name),
				 errhint("Models are sub-directories of bert.model_dir; SELECT * FROM bert_models() lists the loaded ones.")));
	if (realpath(path, real) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not access model directory \"%s\": %m", name)));
	if (!BertPathInside(real, real_root))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("model \"%s\" is outside bert.model_dir", name),
				 errdetail("It is a symbolic link to a directory elsewhere."),
				 errhint("Put the model directory itself inside bert.model_dir instead of a link to it.")));
}

/*
 * Returns the model called `name` (a sub-directory of bert.model_dir),
 * loading it on first use or when its files changed.  `setting` names the
 * GUC that supplied the name, for the error when it is empty (NULL when the
 * name can only come from an argument).
 */
BertModel *
BertGetModel(const char *name, const char *setting)
{
	char		path[MAXPGPATH];
	char		real[PATH_MAX];
	char		real_root[PATH_MAX];
	FileIdentity ids[3];
	CacheEntry *slot = NULL;
	BertModel  *model;

	model_path(name, setting, path);
	for (int i = 0; i < BERT_MAX_CACHED_MODELS; i++)
	{
		CacheEntry *e = &cache[i];

		if (e->model == NULL || strcmp(e->path, path) != 0)
			continue;
		if (!e->model->mapping.faulted && read_identity(path, ids) &&
			same_identity(ids, e->ids) && BertPreparedUnchanged(e->model))
		{
			e->last_used = ++use_counter;
			return e->model;
		}
		drop_entry(e);
		break;
	}

	/* load: resolve, then take a free slot or the least recently used */
	resolve_inside(name, path, real, real_root);
	if (!read_identity(path, ids))
		memset(ids, 0, sizeof(ids));
	model = BertModelLoad(name, real, real_root);

	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(TopMemoryContext, "bert models",
											  ALLOCSET_SMALL_SIZES);
	for (int i = 0; i < BERT_MAX_CACHED_MODELS; i++)
	{
		if (cache[i].model == NULL)
		{
			slot = &cache[i];
			break;
		}
		if (slot == NULL || cache[i].last_used < slot->last_used)
			slot = &cache[i];
	}
	drop_entry(slot);
	MemoryContextSetParent((MemoryContext) model->memory, cache_context);
	strlcpy(slot->path, path, sizeof(slot->path));
	memcpy(slot->ids, ids, sizeof(ids));
	slot->model = model;
	slot->last_used = ++use_counter;
	return model;
}

/* Fills `models` with the loaded models, most recently used first. */
int
BertCachedModels(BertModel **models, int max)
{
	int			n = 0;
	CacheEntry *sorted[BERT_MAX_CACHED_MODELS];

	for (int i = 0; i < BERT_MAX_CACHED_MODELS; i++)
		if (cache[i].model)
			sorted[n++] = &cache[i];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && sorted[j]->last_used > sorted[j - 1]->last_used; j--)
		{
			CacheEntry *t = sorted[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	for (int i = 0; i < n && i < max; i++)
		models[i] = sorted[i]->model;
	return Min(n, max);
}
