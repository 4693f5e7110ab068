/*
 * blas.c
 *		OpenBLAS, loaded on first use, and the memory its threads need.
 *
 * OpenBLAS starts its thread pool (one thread per core) in a library
 * constructor.  Linking it into bert.so would start that pool in every
 * process that loads the extension, the postmaster included when bert is in
 * shared_preload_libraries, and every backend would then carry one idle
 * thread per core.  So the library is opened with dlopen() after
 * OPENBLAS_NUM_THREADS=1 has been put in the environment: by the postmaster
 * when bert is in shared_preload_libraries (no thread is started, so the
 * backends it forks inherit a library that is ready), else the first time a
 * backend runs a model; bert.threads then grows the pool of that backend
 * only, up to the CPUs the backend may run on (sched_getaffinity).
 *
 * Memory.  Every thread that runs a packed matrix product takes a work
 * buffer from OpenBLAS's own allocator (blas_memory_alloc in
 * driver/others/memory.c), mapped on first use and kept for the life of the
 * process: in OpenBLAS 0.3.21 as Debian 12 builds it, 128 MB of address
 * space (BUFFER_SIZE 32 << 22, plus a page).  When the mapping fails
 * (ulimit -v, vm.overcommit_memory = 2) and its malloc() fallback fails too,
 * that allocator retries forever, inside OpenBLAS, where neither cancel nor
 * statement_timeout can reach; and openblas_set_num_threads() does not check
 * pthread_create(), so a thread that could not get its stack leaves the
 * caller waiting forever for its share of the work.  So before OpenBLAS can
 * need memory, this file maps what it will need itself (and unmaps it):
 *	 - on loading: one buffer, then a product large enough to make the
 *	   calling thread take its buffer now (OpenBLAS keeps it: from then on
 *	   one thread never allocates again);
 *	 - before starting threads: their buffers, stacks and malloc arenas; if
 *	   that fails the pool is not grown and the call is an ERROR;
 *	 - before every pass on several threads: a buffer per extra thread (one
 *	   may not have been taken yet); if that fails, the pass runs on one
 *	   thread, which needs nothing new.
 * Each check is one mmap()/munmap() of untouched pages, microseconds.  It
 * runs after the activation buffers of the pass are reserved, and a margin
 * covers the small allocations of the heads; nothing else allocates in the
 * backend in between.
 */
#include "postgres.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cblas.h>

#include "portability/instr_time.h"

#include "blas.h"

/* sonames tried in order: Debian's alternatives link, then plain names */
static const char *const blas_sonames[] = {
	"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"
};

/* OpenBLAS 0.3.21 x86-64: BUFFER_SIZE (32 << 22) + FIXED_PAGESIZE */
#define BERT_BLAS_BUFFER_BYTES ((size_t) 128 * 1024 * 1024 + 4096)
/* glibc reserves a malloc arena of 64 MB for a thread that allocates */
#define BERT_BLAS_ARENA_BYTES ((size_t) 64 * 1024 * 1024)
/* head outputs and other small allocations between a check and the work */
#define BERT_BLAS_MARGIN_BYTES ((size_t) 32 * 1024 * 1024)
/* the warm-up product on several threads: rows per thread, columns, inner dimension */
#define BERT_BLAS_WARM_ROWS 256
#define BERT_BLAS_WARM_COLS 256
/* the warm-up product on one thread: 128 x 128 x 128, twice the size below
 * which OpenBLAS's small-matrix kernels (SkylakeX, Cooperlake: up to
 * 100 x 100 x 100) run without a work buffer, a quarter of the time of
 * the several-thread shape */
#define BERT_BLAS_WARM_ONE 128

typedef void (*sgemm_fn) (const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
						  const enum CBLAS_TRANSPOSE, const blasint,
						  const blasint, const blasint, const float,
						  const float *, const blasint, const float *,
						  const blasint, const float, float *, const blasint);
typedef void (*set_threads_fn) (int);
typedef char *(*corename_fn) (void);
typedef int (*thread_init_fn) (void);

static void *blas_handle = NULL;
static sgemm_fn blas_sgemm = NULL;
static set_threads_fn blas_set_threads = NULL;
static bool blas_warm = false;	/* the calling thread holds its buffer */
static int	blas_threads = 1;	/* threads OpenBLAS uses now */
static int	blas_pool = 1;		/* threads it has started (never stopped) */
static corename_fn blas_corename = NULL;
static corename_fn blas_config = NULL;
static thread_init_fn blas_thread_init = NULL;
static bool blas_inherited = false;	/* opened by the postmaster */

/* True if `bytes` of private writable memory can be mapped now. */
static bool
can_map(size_t bytes)
{
	void	   *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
						 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return false;
	munmap(p, bytes);
	return true;
}

/* Address space of one new thread: its stack and guard, its malloc arena. */
static size_t
thread_bytes(void)
{
	pthread_attr_t attr;
	size_t		stack = 8 * 1024 * 1024;
	size_t		guard = 4096;

	if (pthread_getattr_default_np(&attr) == 0)
	{
		pthread_attr_getstacksize(&attr, &stack);
		pthread_attr_getguardsize(&attr, &guard);
		pthread_attr_destroy(&attr);
	}
	return stack + guard + BERT_BLAS_ARENA_BYTES;
}

/* The number of CPUs this backend may run on (at least 1). */
static int
allowed_cpus(void)
{
	long		conf = sysconf(_SC_NPROCESSORS_CONF);
	int			n = Max((int) Min(conf, 65536), CPU_SETSIZE);
	cpu_set_t  *set = CPU_ALLOC(n);
	size_t		size = CPU_ALLOC_SIZE(n);
	int			count = 1;

	if (set == NULL)
		return 1;
	if (sched_getaffinity(0, size, set) == 0)
		count = Max(1, CPU_COUNT_S(size, set));
	CPU_FREE(set);
	return count;
}

/*
 * One product past OpenBLAS's small-matrix threshold, so that the calling
 * thread takes its work buffer now; on several threads, of
 * BERT_BLAS_WARM_ROWS rows per thread, past the single-thread threshold
 * too, so that every thread runs a part of it and takes its buffer.
 */
static void
warm_up(int threads)
{
	int			m = threads == 1 ? BERT_BLAS_WARM_ONE : BERT_BLAS_WARM_ROWS * threads;
	int			n = threads == 1 ? BERT_BLAS_WARM_ONE : BERT_BLAS_WARM_COLS;
	float	   *a = palloc0(sizeof(float) * m * n);
	float	   *b = palloc0(sizeof(float) * n * n);
	float	   *c = palloc(sizeof(float) * m * n);

	BertSgemm(1, m, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
	pfree(a);
	pfree(b);
	pfree(c);
}

/* The error for memory that OpenBLAS would need and cannot get. */
static void
no_memory_for(int threads, size_t bytes)
{
	ereport(ERROR,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 threads == 1
			 ? errmsg("could not reserve memory for OpenBLAS")
			 : errmsg("could not reserve memory for %d OpenBLAS threads", threads),
			 errdetail("OpenBLAS needs a work buffer of %zu MB for each thread (and a stack for each new one); this backend could not map %zu MB more. The server runs under an address-space limit (ulimit -v) or a commit limit (vm.overcommit_memory = 2) that leaves no room for them.",
					   BERT_BLAS_BUFFER_BYTES >> 20, bytes >> 20),
			 threads == 1
			 ? errhint("Raise the memory limit of the server.")
			 : errhint("Lower bert.threads, or raise the memory limit of the server.")));
}

/*
 * The dlopen() flags for OpenBLAS: symbols bound now, kept out of the global
 * scope, and looked up in the library itself first (RTLD_DEEPBIND).  Its
 * DYNAMIC_ARCH build holds about 14,000 relocations against its own
 * symbols (the kernel tables of every CPU it supports); searched for in
 * the postgres executable and every library loaded before it, they cost
 * 6 ms of CPU per backend, resolved in the library first 2.3 ms (EPYC Zen 4,
 * OpenBLAS 0.3.21).  OpenBLAS defines everything it calls but libc, libm
 * and libgfortran, none of which postgres replaces.  The address
 * sanitizer refuses RTLD_DEEPBIND: under it the plain flags are used.
 */
static int
blas_dlopen_flags(void)
{
	int			flags = RTLD_NOW | RTLD_LOCAL;

#ifdef RTLD_DEEPBIND
	if (dlsym(RTLD_DEFAULT, "__asan_init") == NULL)
		flags |= RTLD_DEEPBIND;
#endif
	return flags;
}

/*
 * dlopen()s OpenBLAS with OPENBLAS_NUM_THREADS=1 in the environment (put
 * back as it was afterwards, so that programs the server starts do not
 * inherit it) and looks up its entry points.  Returns dlerror()'s text if
 * no soname could be opened; otherwise NULL, with blas_handle set, or left
 * NULL (the library closed again) when it is not OpenBLAS.
 */
static const char *
blas_open(void)
{
	const char *last_error = "dlopen failed";
	char	   *saved = getenv("OPENBLAS_NUM_THREADS");

	if (saved != NULL)
		saved = strdup(saved);
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	for (int i = 0; i < (int) lengthof(blas_sonames) && blas_handle == NULL; i++)
	{
		blas_handle = dlopen(blas_sonames[i], blas_dlopen_flags());
		if (blas_handle == NULL)
			last_error = dlerror();
	}
	if (saved != NULL)
		setenv("OPENBLAS_NUM_THREADS", saved, 1);
	else
		unsetenv("OPENBLAS_NUM_THREADS");
	free(saved);
	if (blas_handle == NULL)
		return last_error;

	blas_sgemm = (sgemm_fn) dlsym(blas_handle, "cblas_sgemm");
	blas_set_threads = (set_threads_fn) dlsym(blas_handle, "openblas_set_num_threads");
	blas_corename = (corename_fn) dlsym(blas_handle, "openblas_get_corename");
	blas_config = (corename_fn) dlsym(blas_handle, "openblas_get_config");
	blas_thread_init = (thread_init_fn) dlsym(blas_handle, "blas_thread_init");
	if (blas_sgemm == NULL || blas_set_threads == NULL)
	{
		dlclose(blas_handle);
		blas_handle = NULL;
		return NULL;
	}
	blas_set_threads(1);
	blas_threads = 1;
	return NULL;
}

/*
 * Opens OpenBLAS in the postmaster, when bert is in shared_preload_libraries,
 * so that every backend forked from it starts with the library mapped,
 * relocated and its CPU detected: that dlopen() is most of what opening
 * OpenBLAS costs (6-10 ms for its 36 MB DYNAMIC_ARCH build).  What is
 * inherited is fork-safe: with one thread OpenBLAS starts no thread, and no
 * work buffer is taken here (the calling thread of each backend takes its
 * own in BertBlasEnsureLoaded), so a forked process carries no thread and
 * no memory of OpenBLAS beyond the library's own data.  OpenBLAS's
 * pthread_atfork() handler marks its (empty) pool stopped in every process
 * the postmaster forks; BertBlasEnsureLoaded restarts it (blas_thread_init,
 * no thread to start) before the backend first sets a thread count, so that
 * the threads bert.threads asks for are started once.  OpenBLAS 0.3.21
 * would restart it lazily in openblas_set_num_threads() too; the explicit
 * call does not depend on that.  A failure is left for the first backend
 * that runs a model to report.
 */
void
BertBlasPreload(void)
{
	if (blas_handle == NULL && blas_open() == NULL && blas_handle != NULL)
		blas_inherited = true;
}

/*
 * Opens OpenBLAS with a one-thread pool (unless the postmaster opened it)
 * and makes its calling thread take its work buffer, or raises an ERROR.
 */
void
BertBlasEnsureLoaded(void)
{
	instr_time	start,
				opened,
				warmed;

	if (blas_warm)
		return;
	INSTR_TIME_SET_CURRENT(start);
	opened = start;
	if (blas_handle == NULL)
	{
		const char *error = blas_open();

		if (error != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("could not load OpenBLAS"),
					 errdetail("%s", error),
					 errhint("Install the OpenBLAS runtime (Debian: apt-get install libopenblas0).")));
		if (blas_handle == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("the loaded BLAS library is not OpenBLAS"),
					 errdetail("cblas_sgemm or openblas_set_num_threads is missing."),
					 errhint("Install the OpenBLAS runtime (Debian: apt-get install libopenblas0).")));
		INSTR_TIME_SET_CURRENT(opened);
	}
	else if (blas_inherited)
	{
		/* the pool of one thread, stopped at fork: no thread to start */
		if (blas_thread_init != NULL)
			blas_thread_init();
		blas_inherited = false;
	}
	if (!can_map(BERT_BLAS_BUFFER_BYTES + BERT_BLAS_MARGIN_BYTES))
		no_memory_for(1, BERT_BLAS_BUFFER_BYTES + BERT_BLAS_MARGIN_BYTES);
	warm_up(1);
	blas_warm = true;
	INSTR_TIME_SET_CURRENT(warmed);
	INSTR_TIME_SUBTRACT(warmed, opened);
	INSTR_TIME_SUBTRACT(opened, start);
	elog(DEBUG1, "OpenBLAS ready: dlopen %.3f ms%s, work buffer and first product %.3f ms",
		 INSTR_TIME_GET_MILLISEC(opened),
		 INSTR_TIME_IS_ZERO(opened) ? " (opened by the postmaster)" : "",
		 INSTR_TIME_GET_MILLISEC(warmed));
}

/*
 * Sets the number of OpenBLAS threads of this backend for the next pass:
 * `threads` (bert.threads), at most the CPUs the backend may run on, and
 * only when the memory they may need can be had now (see the file header).
 * Call after the pass's activation buffers are reserved.
 */
void
BertBlasSetThreads(int threads)
{
	int			want;

	BertBlasEnsureLoaded();
	want = (threads > 1) ? Min(threads, allowed_cpus()) : 1;
	if (want > blas_pool)
	{
		size_t		bytes = (size_t) (want - 1) * BERT_BLAS_BUFFER_BYTES +
			(size_t) (want - blas_pool) * thread_bytes() + BERT_BLAS_MARGIN_BYTES;

		if (!can_map(bytes))
			no_memory_for(want, bytes);
		blas_set_threads(want);
		blas_threads = blas_pool = want;
		warm_up(want);
		return;
	}
	/* threads started before: a buffer each, or one thread for this pass */
	if (want > 1 &&
		!can_map((size_t) (want - 1) * BERT_BLAS_BUFFER_BYTES + BERT_BLAS_MARGIN_BYTES))
		want = 1;
	if (want != blas_threads)
	{
		blas_set_threads(want);
		blas_threads = want;
	}
}

/* Name of the kernel OpenBLAS chose for this CPU ("Haswell", "SkylakeX"). */
const char *
BertBlasCoreName(void)
{
	BertBlasEnsureLoaded();
	return blas_corename ? blas_corename() : "unknown";
}

/* OpenBLAS's build description ("OpenBLAS 0.3.21 DYNAMIC_ARCH ..."). */
const char *
BertBlasConfig(void)
{
	BertBlasEnsureLoaded();
	return blas_config ? blas_config() : "unknown";
}

/*
 * C (m, n) = alpha * A (m, k) * op(B) + beta * C, row-major.
 * op(B) is B (k, n) or, with trans_b, the transpose of B (n, k): the layout
 * of nn.Linear weights, so y = x W^T needs no copy.
 */
void
BertSgemm(int trans_b, int m, int n, int k, float alpha,
		  const float *a, int lda, const float *b, int ldb,
		  float beta, float *c, int ldc)
{
	blas_sgemm(CblasRowMajor, CblasNoTrans,
			   trans_b ? CblasTrans : CblasNoTrans,
			   m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/*
 * C (m, n) = alpha * op(A) * op(B) + beta * C, row-major, with either
 * operand transposed: op(A) is A (m, k) or, with trans_a, the transpose of
 * A (k, m); op(B) as in BertSgemm.  The backward pass needs op(A) = A^T for
 * weight gradients (dW = dY^T X).
 */
void
BertSgemmTrans(int trans_a, int trans_b, int m, int n, int k, float alpha,
			   const float *a, int lda, const float *b, int ldb,
			   float beta, float *c, int ldc)
{
	blas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
			   trans_b ? CblasTrans : CblasNoTrans,
			   m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
