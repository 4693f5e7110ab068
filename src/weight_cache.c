/*
 * weight_cache.c
 *		One prepared copy of each model file, in bert.cache_dir, mapped
 *		shared by every backend.
 *
 * F16 and BF16 weights must be F32 for OpenBLAS.  Converting them in each
 * backend costs every connection the full F32 size in private memory
 * (44 MB for a BERT-Mini, 440 MB for a BERT-base), so they are converted
 * once per model file into a cache file that every backend maps read-only:
 * the operating system keeps one copy in its page cache.  For weight shapes
 * where the model's matrix product plan (gemm_plan.c) chose it, the file
 * holds the layer weights transposed (W^T, in x out).  F32 weights as
 * stored are never copied: they are read in place from model.safetensors,
 * so an F32 model has a file only for transposed matrices.
 *
 * The plan itself is kept in a plan file of its own ("<hash>.plan"), shared
 * by every model file with the same layer weight shapes, so that a shape
 * set is measured once per machine and two copies of a model compute the
 * same bits; a model file records the plan it was built with and is rebuilt
 * when that is not the current one.  A plan file is written once and then
 * only read, so every backend runs the plan of the first measurement; a
 * backend notices when the plan file its model was planned by is gone or
 * replaced (BertPreparedUnchanged) and reloads the model onto the new one.
 *
 * Layout of a cache file (native byte order; built and read on one machine):
 *	 PrepHeader				magic, version, sizes, CRC-32C, the source
 *							file's identity, the plan and its key
 *	 PrepEntry[num_entries]	sorted by (name, transposed)
 *	 names					NUL-terminated tensor names
 *	 tensor data			F32, each 64-byte aligned, to file_bytes
 *
 * A file is named after a hash of the model file's path and the variant of
 * the plan ("<hash>-auto.bert"; "-nk"/"-kn" when bert.gemm_strategy forces
 * one).  It is used only if its header checks out against what is mapped
 * now: CRC of header and table, total size equal to the file's, and the
 * same source identity (device, inode, size, mtime, ctime, CRC of the
 * safetensors header, path), CPU, OpenBLAS core and library; every entry
 * must lie inside the file and match a tensor of the source.  Anything else
 * (stale, truncated, garbage) is rebuilt: the builder writes a temporary
 * file, fsyncs it and renames it over the old name, so a reader sees the
 * old file or the new one, never a mix.  The tensor data are not
 * checksummed on every load (that would read the whole file into every
 * backend); they are written by the server itself, fsynced before the
 * rename, and guarded while mapped like the model file (mapping.c).
 *
 * Concurrency: the builder holds an exclusive flock() on "<name>.lock"; a
 * backend that finds no valid file takes the lock (waiting, interruptibly,
 * while another builds), looks again, and builds only if there is still
 * none (plan files alike).  So eight backends loading a new model at once
 * convert it once and all map the same file, and so compute the same bits.  Without flock (a
 * file system that refuses it) builders race and the last rename wins;
 * each still maps a complete, valid file.
 *
 * Failure: when the directory cannot be created or written (read-only,
 * permissions, disk full), the load raises one WARNING and the model is
 * converted into private memory as without a cache, with the prior plan.
 *
 * Memory: the BertPrepared state and the mapping belong to the model's
 * memory context (a reset callback unmaps); building works in chunks of
 * 1 MB plus one layer matrix, freed before returning.
 */
#include "postgres.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "common/file_perm.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "bert.h"
#include "blas.h"
#include "gemm_plan.h"
#include "guc.h"
#include "model.h"
#include "safetensors.h"
#include "weight_cache.h"

#define PREP_MAGIC "BERTPREP"
#define PREP_VERSION 2
#define PREP_ALIGN 64
#define PREP_KEY_LEN 256
#define PREP_MAX_TABLE (64 * 1024 * 1024)
#define WRITE_CHUNK (1024 * 1024)
#define LOCK_POLL_US 5000L

/* variants of a cache file: the plan measured, or forced to a layout */
typedef enum PrepVariant
{
	PREP_AUTO = 0,
	PREP_NK = 1,				/* bert.gemm_strategy nt / nt_tiled */
	PREP_KN = 2					/* bert.gemm_strategy nn / nn_tiled */
} PrepVariant;

static const char *const variant_names[] = {"auto", "nk", "kn"};

typedef struct PrepHeader
{
	char		magic[8];		/* PREP_MAGIC, no NUL */
	uint32		version;		/* PREP_VERSION */
	uint32		header_crc;		/* CRC-32C of header (this field 0) and
								 * table */
	uint64		file_bytes;		/* the whole file */
	uint64		table_bytes;	/* entries + names, right after the header */
	uint64		data_offset;	/* first tensor byte */
	uint32		num_entries;
	uint32		variant;		/* PrepVariant */
	/* the source model.safetensors */
	uint64		src_dev;
	uint64		src_ino;
	uint64		src_size;
	int64		src_mtime_sec;
	int64		src_mtime_nsec;
	int64		src_ctime_sec;
	int64		src_ctime_nsec;
	uint32		src_header_crc; /* CRC-32C of its 8-byte length + JSON */
	uint32		reserved;
	char		src_path[MAXPGPATH];	/* NUL-terminated */
	char		key[PREP_KEY_LEN];	/* CPU | OpenBLAS core | library */
	BertGemmPlan plan;
} PrepHeader;

typedef struct PrepEntry
{
	uint32		name_offset;	/* into the names */
	uint32		transposed;		/* 1: W^T (in, out) of a 2-D (out, in) */
	uint64		rows;			/* as stored here: transposed, rows = in */
	uint64		cols;
	uint64		offset;			/* from the start of the file */
} PrepEntry;

struct BertPrepared
{
	char	   *path;			/* the cache file mapped, or NULL */
	struct stat st;				/* of the cache file when mapped */
	char	   *plan_path;		/* the plan file read, or NULL */
	struct stat plan_st;		/* of the plan file when read */
	const char *base;			/* the mapping (model->cache_mapping) */
	int			num_entries;
	PrepEntry  *entries;		/* palloc'd copy of the table */
	char	   *names;
	size_t		names_len;
};

/* What the file must say, computed from what is mapped now. */
typedef struct PrepExpect
{
	BertModel  *model;
	const BertSafetensors *st;
	const struct stat *src;
	uint32		src_header_crc;
	char		src_path[MAXPGPATH];
	char		key[PREP_KEY_LEN];
	PrepVariant variant;
	const BertGemmPlan *plan;	/* the plan the file must hold */
} PrepExpect;

/* Why a file was not used, for the server log. */
typedef enum PrepStatus
{
	PREP_VALID,
	PREP_ABSENT,
	PREP_STALE,					/* another source, CPU or library */
	PREP_DAMAGED
} PrepStatus;

/* -------------------------------------------------------------- tensors */

/*
 * True for "encoder.layer.N.*" / "transformer.layer.N.*" 2-D weights (the
 * query, key, value, attention output, intermediate and output matrices,
 * (out, in) as nn.Linear stores them), with or without a model prefix.
 * LayerNorm is spelt with a capital L and is 1-D anyway.
 */
bool
BertIsLayerLinear(const BertTensorInfo *t)
{
	const char *p = t->name;
	size_t		len = strlen(t->name);

	if (t->ndim != 2 || t->dtype == BERT_DTYPE_OTHER ||
		len < 7 || strcmp(t->name + len - 7, ".weight") != 0)
		return false;
	while ((p = strstr(p, "layer.")) != NULL)
	{
		const char *d = p + 6;

		if ((p == t->name || p[-1] == '.') && *d >= '0' && *d <= '9')
		{
			while (*d >= '0' && *d <= '9')
				d++;
			if (*d == '.')
				return true;
		}
		p++;
	}
	return false;
}

/* Whether the tensor cannot be used in place: half precision or unaligned. */
static bool
needs_conversion(const BertSafetensors *st, const BertTensorInfo *t)
{
	if (t->dtype == BERT_DTYPE_F16 || t->dtype == BERT_DTYPE_BF16)
		return true;
	return t->dtype == BERT_DTYPE_F32 &&
		(uintptr_t) (st->data + t->begin) % sizeof(float) != 0;
}

static uint64
tensor_count(const BertTensorInfo *t)
{
	uint64		n = 1;

	for (int i = 0; i < t->ndim; i++)
		n *= (uint64) t->shape[i];
	return n;
}

/* Whether the copy holds `t`, and how: -1 not at all, 0 as stored, 1 W^T. */
static int
entry_layout(const BertSafetensors *st, const BertTensorInfo *t,
			 const BertGemmPlan *plan)
{
	if (t->dtype == BERT_DTYPE_OTHER)
		return -1;
	if (BertIsLayerLinear(t) &&
		BertGemmPlanTransposed(plan, (int) t->shape[1], (int) t->shape[0]))
		return 1;
	return needs_conversion(st, t) ? 0 : -1;
}

/* ---------------------------------------------------------------- keys */

/* CPU brand string, OpenBLAS core and build: what the plan was timed on. */
static void
plan_key(char *key)
{
	char		brand[49] = "";

#if defined(__x86_64__) || defined(__i386__)
	unsigned int regs[12];

	if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004)
	{
		for (int i = 0; i < 3; i++)
			__get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1],
						&regs[4 * i + 2], &regs[4 * i + 3]);
		memcpy(brand, regs, 48);
		brand[48] = '\0';
	}
#endif
	memset(key, 0, PREP_KEY_LEN);
	snprintf(key, PREP_KEY_LEN, "%s|%s|%s", brand, BertBlasCoreName(),
			 BertBlasConfig());
}

/* CRC-32C of the header (its CRC field taken as 0) and the table. */
static uint32
header_crc(const PrepHeader *h, const char *table, size_t table_bytes)
{
	PrepHeader	copy = *h;
	pg_crc32c	crc;

	copy.header_crc = 0;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &copy, sizeof(copy));
	COMP_CRC32C(crc, table, table_bytes);
	FIN_CRC32C(crc);
	return crc;
}

static void
fill_identity(PrepHeader *h, const PrepExpect *ex)
{
	h->src_dev = (uint64) ex->src->st_dev;
	h->src_ino = (uint64) ex->src->st_ino;
	h->src_size = (uint64) ex->src->st_size;
	h->src_mtime_sec = ex->src->st_mtim.tv_sec;
	h->src_mtime_nsec = ex->src->st_mtim.tv_nsec;
	h->src_ctime_sec = ex->src->st_ctim.tv_sec;
	h->src_ctime_nsec = ex->src->st_ctim.tv_nsec;
	h->src_header_crc = ex->src_header_crc;
	strlcpy(h->src_path, ex->src_path, sizeof(h->src_path));
	memcpy(h->key, ex->key, PREP_KEY_LEN);
	h->variant = ex->variant;
}

/* ------------------------------------------------------------- reading */

static int
compare_entries(const PrepEntry *a, const char *a_name, const PrepEntry *b,
				const char *b_name)
{
	int			c = strcmp(a_name, b_name);

	return c != 0 ? c : (int) a->transposed - (int) b->transposed;
}

/* Checks the header and table just read; PREP_VALID or why not. */
static PrepStatus
check_file(const PrepHeader *h, const char *table, const struct stat *st,
		   const PrepExpect *ex)
{
	const PrepEntry *entries = (const PrepEntry *) table;
	const char *names;
	size_t		names_len;
	uint64		prev_end;
	PrepHeader	want;

	if (memcmp(h->magic, PREP_MAGIC, 8) != 0 || h->version != PREP_VERSION ||
		h->header_crc != header_crc(h, table, h->table_bytes) ||
		h->file_bytes != (uint64) st->st_size)
		return PREP_DAMAGED;

	/* the source, the machine and the variant */
	memset(&want, 0, sizeof(want));
	fill_identity(&want, ex);
	if (h->src_dev != want.src_dev || h->src_ino != want.src_ino ||
		h->src_size != want.src_size ||
		h->src_mtime_sec != want.src_mtime_sec ||
		h->src_mtime_nsec != want.src_mtime_nsec ||
		h->src_ctime_sec != want.src_ctime_sec ||
		h->src_ctime_nsec != want.src_ctime_nsec ||
		h->src_header_crc != want.src_header_crc ||
		strncmp(h->src_path, want.src_path, sizeof(h->src_path)) != 0 ||
		h->variant != want.variant ||
		(h->variant == PREP_AUTO && memcmp(h->key, want.key, PREP_KEY_LEN) != 0))
		return PREP_STALE;
	if (!BertGemmPlanValid(&h->plan) ||
		memcmp(&h->plan, ex->plan, sizeof(BertGemmPlan)) != 0)
		return PREP_STALE;

	/* the table: inside the file, sorted, every tensor a source tensor */
	if ((uint64) h->num_entries * sizeof(PrepEntry) > h->table_bytes ||
		h->data_offset < sizeof(PrepHeader) + h->table_bytes ||
		h->data_offset > h->file_bytes || h->data_offset % PREP_ALIGN != 0)
		return PREP_DAMAGED;
	names = table + (size_t) h->num_entries * sizeof(PrepEntry);
	names_len = h->table_bytes - (size_t) h->num_entries * sizeof(PrepEntry);
	if (names_len > 0 && names[names_len - 1] != '\0')
		return PREP_DAMAGED;
	prev_end = h->data_offset;
	for (uint32 i = 0; i < h->num_entries; i++)
	{
		const PrepEntry *e = &entries[i];
		const BertTensorInfo *t;
		uint64		bytes;

		if (e->name_offset >= names_len || e->transposed > 1 ||
			e->offset % PREP_ALIGN != 0 || e->offset < prev_end ||
			__builtin_mul_overflow(e->rows, e->cols, &bytes) ||
			__builtin_mul_overflow(bytes, sizeof(float), &bytes) ||
			bytes > h->file_bytes - e->offset)
			return PREP_DAMAGED;
		prev_end = e->offset + bytes;
		if (i > 0 && compare_entries(&entries[i - 1], names + entries[i - 1].name_offset,
									 e, names + e->name_offset) >= 0)
			return PREP_DAMAGED;
		t = BertSafetensorsFind(ex->st, names + e->name_offset);
		if (t == NULL || entry_layout(ex->st, t, &h->plan) != (int) e->transposed)
			return PREP_STALE;
		if (e->transposed
			? (e->rows != (uint64) t->shape[1] || e->cols != (uint64) t->shape[0])
			: e->rows * e->cols != tensor_count(t))
			return PREP_STALE;
	}
	/* and complete: every tensor that needs a copy has one */
	for (int i = 0; i < ex->st->num_tensors; i++)
	{
		const BertTensorInfo *t = &ex->st->tensors[i];
		int			layout = entry_layout(ex->st, t, &h->plan);
		bool		found = false;

		if (layout < 0)
			continue;
		for (uint32 j = 0; j < h->num_entries && !found; j++)
			found = (int) entries[j].transposed == layout &&
				strcmp(names + entries[j].name_offset, t->name) == 0;
		if (!found)
			return PREP_STALE;
	}
	return PREP_VALID;
}

/* Reads exactly n bytes at offset; false on error or short file. */
static bool
read_at(int fd, void *buf, size_t n, off_t offset)
{
	size_t		done = 0;

	while (done < n)
	{
		ssize_t		r = pread(fd, (char *) buf + done, n - done, offset + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += r;
	}
	return true;
}

/*
 * Maps the cache file at `path` if it is valid for what is mapped now; sets
 * *status.  The mapping is registered in model->cache_mapping.
 */
static BertPrepared *
try_open(const char *path, const PrepExpect *ex, PrepStatus *status)
{
	BertModel  *model = ex->model;
	BertPrepared *prep;
	PrepHeader	h;
	struct stat st;
	char	   *table;
	void	   *base;
	MemoryContextCallback *cb;
	int			fd;

	*status = PREP_ABSENT;
	fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	if (fd < 0)
	{
		if (errno != ENOENT)
			*status = PREP_DAMAGED; /* unreadable: build it again */
		return NULL;
	}
	*status = PREP_DAMAGED;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
		st.st_size < (off_t) sizeof(PrepHeader) ||
		!read_at(fd, &h, sizeof(h), 0) ||
		h.table_bytes > PREP_MAX_TABLE ||
		h.table_bytes > (uint64) st.st_size - sizeof(PrepHeader))
	{
		CloseTransientFile(fd);
		return NULL;
	}
	table = palloc(Max(h.table_bytes, 1));
	if (!read_at(fd, table, h.table_bytes, sizeof(PrepHeader)) ||
		(*status = check_file(&h, table, &st, ex)) != PREP_VALID)
	{
		pfree(table);
		CloseTransientFile(fd);
		return NULL;
	}
	base = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	CloseTransientFile(fd);
	if (base == MAP_FAILED)
	{
		*status = PREP_DAMAGED;
		pfree(table);
		return NULL;
	}

	model->cache_mapping.base = base;
	model->cache_mapping.length = st.st_size;
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = BertMappingRelease;
	cb->arg = &model->cache_mapping;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	BertMappingRegister(&model->cache_mapping);
	model->cache_mapping.also_faulted = &model->mapping.faulted;

	prep = palloc0(sizeof(BertPrepared));
	prep->path = pstrdup(path);
	model->cache_file = prep->path;
	prep->st = st;
	prep->base = base;
	prep->num_entries = h.num_entries;
	prep->entries = (PrepEntry *) table;
	prep->names = table + (size_t) h.num_entries * sizeof(PrepEntry);
	prep->names_len = h.table_bytes - (size_t) h.num_entries * sizeof(PrepEntry);
	return prep;
}

/* The prepared data of a tensor (see weight_cache.h). */
const float *
BertPreparedFind(const BertPrepared *prep, const char *name, bool transposed)
{
	int			lo = 0,
				hi;
	PrepEntry	key = {0};

	if (prep == NULL)
		return NULL;
	key.transposed = transposed;
	hi = prep->num_entries - 1;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		const PrepEntry *e = &prep->entries[mid];
		int			c = compare_entries(e, prep->names + e->name_offset, &key, name);

		if (c == 0)
			return (const float *) (prep->base + e->offset);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * Whether the file at `path` is still `was`: the same inode, size and mtime,
 * and with `ctime`, the same ctime (a write in place or a truncation
 * changes it; a rename does too, so a plan file, always renamed into
 * place, is compared without it).
 */
static bool
same_file(const char *path, const struct stat *was, bool ctime)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == was->st_dev &&
		st.st_ino == was->st_ino && st.st_size == was->st_size &&
		st.st_mtim.tv_sec == was->st_mtim.tv_sec &&
		st.st_mtim.tv_nsec == was->st_mtim.tv_nsec &&
		(!ctime || (st.st_ctim.tv_sec == was->st_ctim.tv_sec &&
					st.st_ctim.tv_nsec == was->st_ctim.tv_nsec));
}

/*
 * Whether the cache file and the plan file are still the ones the model was
 * loaded with (see weight_cache.h).  A plan file removed and measured again
 * reloads the model in every backend at its next call, so that the
 * backends do not keep two plans.
 */
bool
BertPreparedUnchanged(const BertModel *model)
{
	const BertPrepared *prep = model->prepared;

	if (prep == NULL)
		return true;
	return (prep->path == NULL || same_file(prep->path, &prep->st, true)) &&
		(prep->plan_path == NULL || same_file(prep->plan_path, &prep->plan_st, false));
}

/* ------------------------------------------------------------- writing */

/* A failed step of building, reported once by the caller. */
typedef struct BuildError
{
	const char *what;			/* "could not write" ... */
	int			save_errno;
} BuildError;

/* Buffered writer of the temporary file. */
typedef struct Writer
{
	int			fd;
	char	   *buf;
	size_t		used;
	uint64		written;
	BuildError *err;
} Writer;

static bool
write_all(Writer *w, const char *p, size_t n)
{
	while (n > 0)
	{
		ssize_t		r = write(w->fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
		{
			w->err->what = "could not write";
			w->err->save_errno = r < 0 ? errno : ENOSPC;
			return false;
		}
		p += r;
		n -= r;
	}
	return true;
}

static bool
flush(Writer *w)
{
	bool		ok = write_all(w, w->buf, w->used);

	w->used = 0;
	return ok;
}

/* Room for n bytes in the buffer (n <= WRITE_CHUNK). */
static char *
reserve(Writer *w, size_t n)
{
	char	   *p;

	if (w->used + n > WRITE_CHUNK && !flush(w))
		return NULL;
	p = w->buf + w->used;
	w->used += n;
	w->written += n;
	return p;
}

static bool
emit(Writer *w, const void *data, size_t n)
{
	while (n > 0)
	{
		size_t		part = Min(n, (size_t) WRITE_CHUNK);
		char	   *p = reserve(w, part);

		if (p == NULL)
			return false;
		memcpy(p, data, part);
		data = (const char *) data + part;
		n -= part;
	}
	return true;
}

static bool
pad_to(Writer *w, uint64 offset)
{
	static const char zeros[PREP_ALIGN] = {0};

	while (w->written < offset)
		if (!emit(w, zeros, Min(offset - w->written, (uint64) PREP_ALIGN)))
			return false;
	return true;
}

/* Converts n source values of tensor `t` starting at element `first`. */
static void
convert(float *dst, const BertSafetensors *st, const BertTensorInfo *t,
		uint64 first, size_t n)
{
	const char *src = st->data + t->begin;

	switch (t->dtype)
	{
		case BERT_DTYPE_F16:
			BertHalfToFloat(dst, src + 2 * first, n);
			break;
		case BERT_DTYPE_BF16:
			BertBfloat16ToFloat(dst, src + 2 * first, n);
			break;
		default:
			memcpy(dst, src + 4 * first, n * sizeof(float));
			break;
	}
}

/* Writes one tensor: converted as stored, or converted and transposed. */
static bool
emit_tensor(Writer *w, const BertSafetensors *st, const BertTensorInfo *t,
			bool transposed)
{
	uint64		count = tensor_count(t);
	size_t		chunk = WRITE_CHUNK / sizeof(float);

	if (!transposed)
	{
		for (uint64 i = 0; i < count; i += chunk)
		{
			size_t		n = Min(chunk, count - i);
			float	   *p = (float *) reserve(w, n * sizeof(float));

			if (p == NULL)
				return false;
			convert(p, st, t, i, n);
		}
		return true;
	}
	else
	{
		int64		out = t->shape[0],
					in = t->shape[1];
		float	   *src = MemoryContextAllocHuge(CurrentMemoryContext, count * sizeof(float));
		float	   *dst = MemoryContextAllocHuge(CurrentMemoryContext, count * sizeof(float));
		bool		ok;

		convert(src, st, t, 0, count);
		/* dst (in, out) = src (out, in)^T, in 32 x 32 blocks */
		for (int64 i0 = 0; i0 < out; i0 += 32)
			for (int64 j0 = 0; j0 < in; j0 += 32)
				for (int64 i = i0; i < Min(i0 + 32, out); i++)
					for (int64 j = j0; j < Min(j0 + 32, in); j++)
						dst[j * out + i] = src[i * in + j];
		ok = emit(w, dst, count * sizeof(float));
		pfree(src);
		pfree(dst);
		return ok;
	}
}

static int
compare_plan_entries(const void *a, const void *b, void *arg)
{
	const PrepEntry *x = a;
	const PrepEntry *y = b;
	const char *names = arg;

	return compare_entries(x, names + x->name_offset, y, names + y->name_offset);
}

/*
 * The entries of the cache file for st under `plan` into entries[] (room
 * for every tensor) and their NUL-terminated names into *names, sorted by
 * name; returns their number.
 */
static int
collect_entries(const BertSafetensors *st, const BertGemmPlan *plan,
				PrepEntry *entries, StringInfo names)
{
	int			n = 0;

	/* the entries, in the order of the source's (sorted) names */
	for (int i = 0; i < st->num_tensors; i++)
	{
		const BertTensorInfo *t = &st->tensors[i];
		int			layout = entry_layout(st, t, plan);

		if (layout < 0)
			continue;
		entries[n].name_offset = names->len;
		appendBinaryStringInfo(names, t->name, strlen(t->name) + 1);
		entries[n].transposed = layout;
		entries[n].rows = (uint64) (layout ? t->shape[1] : (t->ndim > 0 ? t->shape[0] : 1));
		entries[n].cols = layout ? (uint64) t->shape[0] : tensor_count(t) / Max(entries[n].rows, 1);
		n++;
	}
	/* sorted already (the source's names are), unless names repeat */
	qsort_arg(entries, n, sizeof(PrepEntry), compare_plan_entries, names->data);
	return n;
}

/*
 * Fills header h for the n entries (their data offsets set here, aligned)
 * and returns the table that follows it: the entries, then the names.
 */
static char *
lay_out(PrepHeader *h, PrepEntry *entries, int n, const StringInfoData *names,
		const PrepExpect *ex, const BertGemmPlan *plan)
{
	uint64		offset;
	char	   *table;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, PREP_MAGIC, 8);
	h->version = PREP_VERSION;
	h->num_entries = n;
	h->table_bytes = (uint64) n * sizeof(PrepEntry) + names->len;
	h->data_offset = TYPEALIGN(PREP_ALIGN, sizeof(PrepHeader) + h->table_bytes);
	offset = h->data_offset;
	for (int i = 0; i < n; i++)
	{
		entries[i].offset = offset;
		offset = TYPEALIGN(PREP_ALIGN, offset + entries[i].rows * entries[i].cols * sizeof(float));
	}
	h->file_bytes = n > 0 ? entries[n - 1].offset +
		entries[n - 1].rows * entries[n - 1].cols * sizeof(float) : h->data_offset;
	fill_identity(h, ex);
	h->plan = *plan;
	table = palloc(Max(h->table_bytes, 1));
	memcpy(table, entries, (size_t) n * sizeof(PrepEntry));
	memcpy(table + (size_t) n * sizeof(PrepEntry), names->data, names->len);
	h->header_crc = header_crc(h, table, h->table_bytes);
	return table;
}

/*
 * Writes the complete cache file for `ex` at `tmp`, with `plan` (measured
 * already when auto), and fsyncs it.  False with *err on an I/O failure;
 * raises ERROR on cancel.
 */
static bool
write_file(const char *tmp, const PrepExpect *ex, const BertGemmPlan *plan,
		   BuildError *err)
{
	const BertSafetensors *st = ex->st;
	PrepHeader	h;
	PrepEntry  *entries = palloc0(sizeof(PrepEntry) * Max(st->num_tensors, 1));
	StringInfoData names;
	char	   *table;
	int			n;
	Writer		w = {0};
	int			rc;

	initStringInfo(&names);
	n = collect_entries(st, plan, entries, &names);
	table = lay_out(&h, entries, n, &names, ex, plan);

	w.fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
								 pg_file_create_mode);
	w.err = err;
	if (w.fd < 0)
	{
		err->what = "could not create";
		err->save_errno = errno;
		return false;
	}
	/* fail early on a full disk */
	rc = posix_fallocate(w.fd, 0, h.file_bytes);
	if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL)
	{
		err->what = "could not allocate";
		err->save_errno = rc;
		CloseTransientFile(w.fd);
		return false;
	}
	w.buf = palloc(WRITE_CHUNK);
	if (!emit(&w, &h, sizeof(h)) || !emit(&w, table, h.table_bytes))
		goto fail;
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (!pad_to(&w, entries[i].offset) ||
			!emit_tensor(&w, st,
						 BertSafetensorsFind(st, names.data + entries[i].name_offset),
						 entries[i].transposed))
			goto fail;
	}
	if (!pad_to(&w, h.file_bytes) || !flush(&w))
		goto fail;
	if (pg_fsync(w.fd) != 0)
	{
		err->what = "could not fsync";
		err->save_errno = errno;
		goto fail;
	}
	CloseTransientFile(w.fd);
	pfree(w.buf);
	return true;

fail:
	CloseTransientFile(w.fd);
	pfree(w.buf);
	return false;
}

/* Removes temporary files of `base` left by builders that died. */
static void
remove_stale_temps(const char *dir, const char *base)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char		prefix[MAXPGPATH];
	char		path[MAXPGPATH];

	if (d == NULL)
		return;
	snprintf(prefix, sizeof(prefix), "%s.tmp.", base);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
		{
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			(void) unlink(path);
		}
	closedir(d);
}

/* fsync of a directory, so that a rename survives a crash. */
static void
fsync_dir(const char *dir)
{
	int			fd = OpenTransientFile(dir, O_RDONLY | PG_BINARY);

	if (fd >= 0)
	{
		(void) pg_fsync(fd);
		CloseTransientFile(fd);
	}
}

/*
 * Takes the exclusive build lock of a cache file, waiting (interruptibly)
 * while another backend holds it.  Returns the lock file's descriptor (the
 * lock goes with it, at the latest at the end of the transaction), or -1
 * with *err when the lock file cannot be created; -2 when the file system
 * has no flock (build without it).
 */
static int
take_lock(const char *lock_path, BuildError *err)
{
	int			fd = OpenTransientFilePerm(lock_path, O_RDWR | O_CREAT | PG_BINARY,
										   pg_file_create_mode);

	if (fd < 0)
	{
		err->what = "could not create";
		err->save_errno = errno;
		return -1;
	}
	for (;;)
	{
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
		{
			CloseTransientFile(fd);
			return -2;
		}
		CHECK_FOR_INTERRUPTS();
		pg_usleep(LOCK_POLL_US);
	}
}

/* Path of the cache directory, created if missing; false with *err. */
static bool
ensure_dir(const char *dir, BuildError *err)
{
	struct stat st;
	char	   *copy;

	if (stat(dir, &st) == 0)
	{
		if (S_ISDIR(st.st_mode))
			return true;
		err->what = "could not use";
		err->save_errno = ENOTDIR;
		return false;
	}
	copy = pstrdup(dir);
	if (pg_mkdir_p(copy, pg_dir_create_mode) != 0 && errno != EEXIST)
	{
		err->what = "could not create";
		err->save_errno = errno;
		pfree(copy);
		return false;
	}
	pfree(copy);
	return true;
}

/*
 * Creates `dir` if missing and takes the build lock of the file `path` in
 * it (take_lock(); -1 with *err when either fails).
 */
static int
lock_in_dir(const char *dir, const char *path, BuildError *err)
{
	char		lock_path[MAXPGPATH];

	if (!ensure_dir(dir, err))
		return -1;
	snprintf(lock_path, sizeof(lock_path), "%s.lock", path);
	return take_lock(lock_path, err);
}

/*
 * Builds the cache file at `path` (dir/base) unless, once the build lock is
 * held, a valid one is there; returns it mapped, or NULL with *err.
 */
static BertPrepared *
build(const char *dir, const char *base, const char *path, PrepExpect *ex,
	  const BertGemmPlan *plan, BuildError *err)
{
	char		tmp[MAXPGPATH];
	int			lock_fd;
	PrepStatus	status;
	BertPrepared *prep;
	volatile bool written = false;
	MemoryContext build_cxt;

	lock_fd = lock_in_dir(dir, path, err);
	if (lock_fd == -1)
		return NULL;

	/* another backend may have built it while this one waited */
	prep = try_open(path, ex, &status);
	if (prep != NULL)
	{
		if (lock_fd >= 0)
			CloseTransientFile(lock_fd);
		return prep;
	}
	if (status == PREP_DAMAGED)
		ereport(LOG,
				(errmsg("bert: rebuilding damaged cache file \"%s\" of model \"%s\"",
						path, ex->model->name)));
	if (lock_fd >= 0)
		remove_stale_temps(dir, base);

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, MyProcPid);
	build_cxt = AllocSetContextCreate(CurrentMemoryContext, "bert cache build",
									  ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		MemoryContext old = MemoryContextSwitchTo(build_cxt);

		written = write_file(tmp, ex, plan, err);
		MemoryContextSwitchTo(old);
		/* the source shrank under the conversion: do not keep zeros */
		if (written && ex->model->mapping.faulted)
		{
			written = false;
			err->what = "could not read the model file for";
			err->save_errno = EIO;
		}
		if (written && rename(tmp, path) != 0)
		{
			written = false;
			err->what = "could not rename";
			err->save_errno = errno;
		}
	}
	PG_FINALLY();
	{
		if (!written)
			(void) unlink(tmp);
		if (lock_fd >= 0)
			CloseTransientFile(lock_fd);
	}
	PG_END_TRY();
	MemoryContextDelete(build_cxt);
	if (!written)
		return NULL;
	fsync_dir(dir);

	prep = try_open(path, ex, &status);
	if (prep == NULL)
	{
		err->what = "could not read back";
		err->save_errno = EIO;
	}
	return prep;
}

/* --------------------------------------------------------------- plans */

#define PLAN_MAGIC "BERTPLAN"

/*
 * A measured plan, in bert.cache_dir/<hash>.plan, shared by every model
 * file with the same layer weight shapes on this machine: a shape set is
 * measured once, and two copies of a model compute the same bits.  Named
 * after a hash of its key (CPU, OpenBLAS core and build) and the shapes;
 * both are checked when read.  Once written, it is only read: every
 * backend uses the plan of the first measurement, not one of its own.
 */
typedef struct PlanFile
{
	char		magic[8];		/* PLAN_MAGIC, no NUL */
	uint32		version;		/* PREP_VERSION */
	uint32		crc;			/* CRC-32C of the struct, this field 0 */
	char		key[PREP_KEY_LEN];
	uint32		reserved[2];
	BertGemmPlan plan;			/* measured */
} PlanFile;

static uint32
plan_file_crc(const PlanFile *pf)
{
	PlanFile	copy = *pf;
	pg_crc32c	crc;

	copy.crc = 0;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, &copy, sizeof(copy));
	FIN_CRC32C(crc);
	return crc;
}

/* Whether two plans are for the same shapes, in the same order. */
static bool
same_shapes(const BertGemmPlan *a, const BertGemmPlan *b)
{
	if (a->num_shapes != b->num_shapes)
		return false;
	for (int i = 0; i < a->num_shapes; i++)
		if (a->shapes[i].in != b->shapes[i].in || a->shapes[i].out != b->shapes[i].out)
			return false;
	return true;
}

/*
 * Reads the plan file at `path` into *plan if it is valid for `want`; *st
 * is then its fstat.
 */
static bool
read_plan_file(const char *path, const PlanFile *want, BertGemmPlan *plan,
			   struct stat *st_out)
{
	PlanFile	pf;
	struct stat st;
	int			fd = OpenTransientFile(path, O_RDONLY | O_NONBLOCK | PG_BINARY);
	bool		ok;

	if (fd < 0)
		return false;
	ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		st.st_size == (off_t) sizeof(pf) && read_at(fd, &pf, sizeof(pf), 0);
	CloseTransientFile(fd);
	if (!ok || memcmp(pf.magic, PLAN_MAGIC, 8) != 0 || pf.version != PREP_VERSION ||
		pf.crc != plan_file_crc(&pf) || memcmp(pf.key, want->key, PREP_KEY_LEN) != 0 ||
		pf.plan.source != BERT_GEMM_PLAN_MEASURED || !BertGemmPlanValid(&pf.plan) ||
		!same_shapes(&pf.plan, &want->plan))
		return false;
	*plan = pf.plan;
	*st_out = st;
	return true;
}

/*
 * Sets *plan (initialised with the model's shapes) to the plan measured on
 * this machine for those shapes: from its plan file, or measured now (under
 * the file's lock, so that concurrent first loads measure once) and written
 * there.  path (MAXPGPATH) and *st are then the plan file and its stat.
 * False with *err when it cannot be written: a plan not shared must not be
 * used.
 */
static bool
shared_plan(const char *dir, const char *key, BertGemmPlan *plan,
			char *path, struct stat *st, BuildError *err)
{
	PlanFile	want;
	StringInfoData id;
	char		tmp[MAXPGPATH];
	int			lock_fd,
				fd;
	bool		ok = false;
	Writer		w = {0};

	memset(&want, 0, sizeof(want));
	memcpy(want.magic, PLAN_MAGIC, 8);
	want.version = PREP_VERSION;
	memcpy(want.key, key, PREP_KEY_LEN);
	want.plan = *plan;
	initStringInfo(&id);
	appendStringInfoString(&id, key);
	for (int i = 0; i < plan->num_shapes; i++)
		appendStringInfo(&id, "|%d,%d", plan->shapes[i].in, plan->shapes[i].out);
	snprintf(path, MAXPGPATH, "%s/%016llx.plan", dir,
			 (unsigned long long) hash_bytes_extended((const unsigned char *) id.data, id.len, 0));
	if (read_plan_file(path, &want, plan, st))
		return true;

	lock_fd = lock_in_dir(dir, path, err);
	if (lock_fd == -1)
		return false;
	if (read_plan_file(path, &want, plan, st))
	{
		if (lock_fd >= 0)
			CloseTransientFile(lock_fd);
		return true;
	}
	BertGemmPlanMeasure(plan);
	want.plan = *plan;
	want.crc = plan_file_crc(&want);

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, MyProcPid);
	(void) unlink(tmp);
	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
							   pg_file_create_mode);
	if (fd < 0)
	{
		err->what = "could not create";
		err->save_errno = errno;
	}
	else
	{
		w.fd = fd;
		w.err = err;
		ok = write_all(&w, (const char *) &want, sizeof(want));
		if (ok && pg_fsync(fd) != 0)
		{
			err->what = "could not fsync";
			err->save_errno = errno;
			ok = false;
		}
		CloseTransientFile(fd);
		if (ok && rename(tmp, path) != 0)
		{
			err->what = "could not rename";
			err->save_errno = errno;
			ok = false;
		}
		/* under the lock: the file renamed into place is still there */
		if (ok && stat(path, st) != 0)
		{
			err->what = "could not stat";
			err->save_errno = errno;
			ok = false;
		}
		if (!ok)
			(void) unlink(tmp);
		else
			fsync_dir(dir);
	}
	if (lock_fd >= 0)
		CloseTransientFile(lock_fd);
	return ok;
}

/* ---------------------------------------------------------------- open */

/*
 * Initialises *plan for the layer weights of st (prior or forced, not yet
 * measured); returns whether any tensor needs converting to F32.
 */
static bool
plan_for_tensors(const BertSafetensors *st, BertGemmPlan *plan)
{
	int32_t		(*shapes)[2] = palloc(sizeof(*shapes) * Max(st->num_tensors, 1));
	int			num_shapes = 0;
	bool		converts = false;

	for (int i = 0; i < st->num_tensors; i++)
	{
		const BertTensorInfo *t = &st->tensors[i];

		if (BertIsLayerLinear(t))
		{
			shapes[num_shapes][0] = (int32_t) t->shape[0];
			shapes[num_shapes][1] = (int32_t) t->shape[1];
			num_shapes++;
		}
		converts |= needs_conversion(st, t);
	}
	BertGemmPlanInit(plan, shapes, num_shapes, bert_gemm_strategy);
	pfree(shapes);
	return converts;
}

/*
 * What a prepared copy of model's weights must match: the source file's
 * path, identity and header checksum, the plan's key (CPU, OpenBLAS core)
 * and the layout variant bert.gemm_strategy asks for.
 */
static void
expect_init(PrepExpect *ex, BertModel *model, const BertSafetensors *st,
			const struct stat *src, BertGemmPlan *plan)
{
	pg_crc32c	crc;

	memset(ex, 0, sizeof(*ex));
	ex->model = model;
	ex->st = st;
	ex->src = src;
	ex->plan = plan;
	ex->variant = bert_gemm_strategy == BERT_GEMM_AUTO ? PREP_AUTO :
		(bert_gemm_strategy == BERT_GEMM_NN || bert_gemm_strategy == BERT_GEMM_NN_TILED)
		? PREP_KN : PREP_NK;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, model->mapping.base, st->data - (const char *) model->mapping.base);
	FIN_CRC32C(crc);
	ex->src_header_crc = crc;
	snprintf(ex->src_path, sizeof(ex->src_path), "%s/model.safetensors", model->path);
	plan_key(ex->key);
}

/*
 * Finds or builds the prepared copy for ex in bert.cache_dir, measuring or
 * reading the server's plan first (PREP_AUTO); NULL with *err filled when
 * the directory cannot be used.
 */
static BertPrepared *
find_or_build(PrepExpect *ex, bool converts, BertGemmPlan *plan,
			  char *plan_path, struct stat *plan_st, BuildError *err)
{
	char		dir[MAXPGPATH];
	char		base[64];
	char		path[MAXPGPATH];
	bool		transposes = false;
	PrepStatus	status;
	BertPrepared *prep;
	uint64		hash;

	strlcpy(dir, bert_cache_dir, sizeof(dir));
	hash = hash_bytes_extended((const unsigned char *) ex->src_path,
							   strlen(ex->src_path), 0);
	snprintf(base, sizeof(base), "%016llx-%s.bert", (unsigned long long) hash,
			 variant_names[ex->variant]);
	if (strlen(dir) + strlen(base) + 32 >= MAXPGPATH)
	{
		err->what = "could not use";
		err->save_errno = ENAMETOOLONG;
		return NULL;
	}
	if (ex->variant == PREP_AUTO &&
		!shared_plan(dir, ex->key, plan, plan_path, plan_st, err))
		return NULL;

	/*
	 * F32 weights kept as stored need no file: the plan file holds the plan,
	 * and the copy only says which plan file to watch
	 */
	for (int i = 0; i < plan->num_shapes; i++)
		transposes |= plan->shapes[i].transposed;
	snprintf(path, sizeof(path), "%s/%s", dir, base);
	if (!converts && !transposes)
		return palloc0(sizeof(BertPrepared));
	if ((prep = try_open(path, ex, &status)) == NULL)
		prep = build(dir, base, path, ex, plan, err);
	return prep;
}

/* Opens or builds the prepared copy (see weight_cache.h). */
BertPrepared *
BertPreparedOpen(BertModel *model, const BertSafetensors *st,
				 const struct stat *src, BertGemmPlan *plan)
{
	bool		converts = plan_for_tensors(st, plan);
	PrepExpect	ex;
	BertGemmPlan expected;
	char		plan_path[MAXPGPATH] = "";
	struct stat plan_st;
	BertPrepared *prep;
	BuildError	err = {0};

	expect_init(&ex, model, st, src, plan);
	/* nothing to share: F32 in place and a plan that needs no measurement */
	if (!converts && ex.variant == PREP_NK)
		return NULL;
	/* without a cache: the plan as it is now (prior or forced) */
	if (bert_cache_dir == NULL || bert_cache_dir[0] == '\0')
		return NULL;
	expected = *plan;
	prep = find_or_build(&ex, converts, plan, plan_path, &plan_st, &err);
	if (prep == NULL)
	{
		/* private copies, and a plan every backend computes alike */
		*plan = expected;
		errno = err.save_errno;
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("%s the prepared weights of model \"%s\" in bert.cache_dir: %m",
						err.what ? err.what : "could not write", model->name),
				 converts
				 ? errdetail("This backend converts the model's weights into its private memory instead.")
				 : errdetail("This backend uses the default matrix product plan of this OpenBLAS kernel instead of one measured for this CPU."),
				 errhint("Make bert.cache_dir a directory that the server's operating-system user can write, with free space, or set it to '' to use private copies without this warning.")));
		return NULL;
	}
	if (plan_path[0] != '\0')
	{
		prep->plan_path = pstrdup(plan_path);
		prep->plan_st = plan_st;
	}
	return prep;
}
