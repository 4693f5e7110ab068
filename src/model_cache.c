/*
 * model_cache.c
 *		Per-backend cache of loaded models.
 *
 * Entries are keyed by the model's directory path (bert.model_dir + "/" +
 * name).  Every lookup re-checks the identity (device, inode, size, mtime,
 * ctime) of the directory and of every file the model was built from, with
 * stat(): config.json, the vocabulary (vocab.txt, or tokenizer.json without
 * it), tokenizer_config.json, modules.json, the Pooling module's
 * config.json, sentence_bert_config.json and model.safetensors (model.c
 * records them as it opens them, and the optional ones it looked for and
 * did not find).  That catches a directory replaced by rename, a name now
 * resolving elsewhere, any of those files edited in place (ctime catches an
 * edit that restored the mtime), replaced or appearing, and a weights file
 * changed before its stale mapping is read.  A changed entry is dropped and
 * loaded again.
 *
 * Cost: the directory is stat()ed by its path; the files are stat()ed
 * relative to a descriptor of the directory (fstatat, one name to look up
 * instead of the whole path), and a file that was absent from the directory
 * itself needs no call, since creating it changes the directory's mtime.
 * That is 5 system calls for a plain model and 8 for a sentence-transformers
 * one, about as many microseconds: negligible next to a forward pass.  Each
 * model's memory context hangs under cache_context; dropping a model
 * deletes its context, which unmaps it.
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "postmaster/postmaster.h"
#include "storage/fd.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "bert.h"
#include "guc.h"
#include "model.h"
#include "weight_cache.h"

#define BERT_MAX_CACHED_MODELS 8
#define BERT_MAX_MODEL_NAME 255
/* application_name of the connections Citus opens to run shard queries */
#define CITUS_TASK_APPLICATION_NAME "citus_internal gpid="

typedef struct CacheEntry
{
	char		path[MAXPGPATH];
	BertFileIdentity dir;		/* the directory, by the path above */
	int			dir_fd;			/* O_PATH descriptor of it, or -1 */
	uint64		last_used;
	BertModel  *model;
} CacheEntry;

static MemoryContext cache_context = NULL;
static CacheEntry cache[BERT_MAX_CACHED_MODELS];
static uint64 use_counter = 0;

/* The identity of a file from its stat() result. */
void
BertFileIdentityFromStat(const struct stat *st, BertFileIdentity *id)
{
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

/*
 * stat()s a file (following links), relative to directory descriptor dir_fd
 * when there is one; a failure is kept as its errno.
 */
static void
read_identity(int dir_fd, const char *name, const char *path,
			  BertFileIdentity *id)
{
	struct stat st;
	int			rc = (dir_fd >= 0) ? fstatat(dir_fd, name, &st, 0) : stat(path, &st);

	if (rc != 0)
	{
		memset(id, 0, sizeof(*id));
		id->error = errno ? errno : ENOENT;
		return;
	}
	BertFileIdentityFromStat(&st, id);
}

static bool
same_identity(const BertFileIdentity *a, const BertFileIdentity *b)
{
	if (a->error || b->error)
		return a->error == b->error;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
		a->mtime.tv_sec == b->mtime.tv_sec &&
		a->mtime.tv_nsec == b->mtime.tv_nsec &&
		a->ctime.tv_sec == b->ctime.tv_sec &&
		a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* True if the directory and every file the model was built from are unchanged. */
static bool
entry_unchanged(const CacheEntry *e)
{
	BertFileIdentity id;

	read_identity(-1, NULL, e->path, &id);
	if (id.error || !same_identity(&id, &e->dir))
		return false;
	/* the same directory: its descriptor reaches the same files */
	for (int i = 0; i < e->model->n_watched; i++)
	{
		const BertWatchedFile *w = &e->model->watched[i];

		if (w->id.error == ENOENT && strchr(w->name, '/') == NULL)
			continue;			/* would change the directory's mtime */
		read_identity(e->dir_fd, w->name, w->path, &id);
		if (!same_identity(&id, &w->id))
			return false;
	}
	return true;
}

/*
 * An O_PATH descriptor of the model directory `real` if it is still the
 * directory `dir` identifies and PostgreSQL can spare a descriptor; else
 * -1 (the files are then stat()ed by their paths).
 */
static int
open_dir_fd(const char *real, const BertFileIdentity *dir)
{
	struct stat st;
	int			fd;

	if (dir->error || !AcquireExternalFD())
		return -1;
	fd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 &&
		st.st_dev == dir->dev && st.st_ino == dir->ino)
		return fd;
	if (fd >= 0)
		close(fd);
	ReleaseExternalFD();
	return -1;
}

static void
drop_entry(CacheEntry *e)
{
	if (e->model)
		MemoryContextDelete((MemoryContext) e->model->memory);
	if (e->model && e->dir_fd >= 0)
	{
		close(e->dir_fd);
		ReleaseExternalFD();
	}
	memset(e, 0, sizeof(*e));
	e->dir_fd = -1;
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

/* True in a connection Citus opened to run a shard query on this node. */
static bool
in_citus_task(void)
{
	return application_name != NULL &&
		strncmp(application_name, CITUS_TASK_APPLICATION_NAME,
				strlen(CITUS_TASK_APPLICATION_NAME)) == 0;
}

/*
 * This node as the coordinator reached it: "address:port" for TCP,
 * "socket directory:port" for a Unix socket (Citus's spelling of nodes).
 */
static char *
node_name(void)
{
	LOCAL_FCINFO(fcinfo, 0);
	Datum		addr;
	const char *dirs;

	InitFunctionCallInfoData(*fcinfo, NULL, 0, InvalidOid, NULL, NULL);
	addr = inet_server_addr(fcinfo);
	if (!fcinfo->isnull)
		return psprintf("%s:%d", DatumGetCString(DirectFunctionCall1(inet_out, addr)),
						PostPortNumber);
	dirs = GetConfigOption("unix_socket_directories", true, false);
	if (dirs == NULL || dirs[0] == '\0')
		return psprintf("port %d", PostPortNumber);
	return psprintf("%.*s:%d", (int) strcspn(dirs, ","), dirs, PostPortNumber);
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
				 in_citus_task()
				 ? errhint("Pass the model name as the last argument, or set %s on every node (ALTER DATABASE ... SET): a session SET on the coordinator does not reach the workers.",
						   setting)
				 : errhint("Pass the model name as the last argument, or SET %s = 'model_name'.",
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

/* BertGetModel() without the node name in its errors. */
static BertModel *
get_model(const char *name, const char *setting)
{
	char		path[MAXPGPATH];
	char		real[PATH_MAX];
	char		real_root[PATH_MAX];
	BertFileIdentity dir;
	CacheEntry *slot = NULL;
	BertModel  *model;

	model_path(name, setting, path);
	for (int i = 0; i < BERT_MAX_CACHED_MODELS; i++)
	{
		CacheEntry *e = &cache[i];

		if (e->model == NULL || strcmp(e->path, path) != 0)
			continue;
		if (!e->model->mapping.faulted && entry_unchanged(e) &&
			BertPreparedUnchanged(e->model))
		{
			e->last_used = ++use_counter;
			return e->model;
		}
		drop_entry(e);
		break;
	}

	/* load: resolve, then take a free slot or the least recently used */
	resolve_inside(name, path, real, real_root);
	read_identity(-1, NULL, path, &dir);
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
	slot->dir = dir;
	slot->dir_fd = open_dir_fd(real, &dir);
	slot->model = model;
	slot->last_used = ++use_counter;
	return model;
}

/*
 * Returns the model called `name` (a sub-directory of bert.model_dir),
 * loading it on first use or when its files changed.  `setting` names the
 * GUC that supplied the name, for the error when it is empty (NULL when the
 * name can only come from an argument).
 *
 * In a shard query of a Citus cluster, a missing model or bert.model_dir
 * is a fault of one node, so its errors name this node in errdetail: Citus
 * adds the node to the errors of its query path as CONTEXT, but its COPY
 * path (INSERT ... SELECT through the coordinator, \copy into a table with
 * a generated column) passes on only errmsg and errdetail.
 */
BertModel *
BertGetModel(const char *name, const char *setting)
{
	MemoryContext caller = CurrentMemoryContext;
	BertModel  *model = NULL;

	if (!in_citus_task())
		return get_model(name, setting);
	PG_TRY();
	{
		model = get_model(name, setting);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *node;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		node = node_name();
		edata->detail = edata->detail
			? psprintf("%s The error was raised on node %s.", edata->detail, node)
			: psprintf("The error was raised on node %s.", node);
		ReThrowError(edata);
	}
	PG_END_TRY();
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

/*
 * Checks `name` as every model name is checked and sets path (MAXPGPATH) to
 * bert.model_dir/name, for a model about to be written.
 */
void
BertModelNamePath(const char *name, char *path)
{
	model_path(name, NULL, path);
}

/*
 * Loads model `name` outside the cache: the caller owns it (its memory
 * context is a child of the current one), so no later lookup can drop it
 * while the caller still uses it, as training does for hours.
 */
BertModel *
BertLoadModelUncached(const char *name)
{
	char		path[MAXPGPATH];
	char		real[PATH_MAX];
	char		real_root[PATH_MAX];

	model_path(name, NULL, path);
	resolve_inside(name, path, real, real_root);
	return BertModelLoad(name, real, real_root);
}
