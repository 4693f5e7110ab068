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
#include "model_path.h"

#define BERT_MAX_CACHED_MODELS 8
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


/* True in a connection Citus opened to run a shard query on this node. */
bool
BertInCitusTask(void)
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

	BertModelPath(name, setting, path);
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
	BertModelResolve(name, path, real, real_root);
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

	if (!BertInCitusTask())
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

	BertModelPath(name, NULL, path);
	BertModelResolve(name, path, real, real_root);
	return BertModelLoad(name, real, real_root);
}
