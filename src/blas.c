/*
 * blas.c
 *		OpenBLAS, loaded on first use.
 *
 * OpenBLAS starts its thread pool (one thread per core) in a library
 * constructor.  Linking it into bert.so would start that pool in every
 * process that loads the extension, the postmaster included when bert is in
 * shared_preload_libraries, and every backend would then carry one idle
 * thread per core.  So the library is opened with dlopen() the first time a
 * backend runs a model, after OPENBLAS_NUM_THREADS=1 has been put in the
 * environment; bert.threads then grows the pool of that backend only.
 */
#include "postgres.h"

#include <dlfcn.h>
#include <stdlib.h>

#include <cblas.h>

#include "bert.h"

/* sonames tried in order: Debian's alternatives link, then plain names */
static const char *const blas_sonames[] = {
	"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0"
};

typedef void (*sgemm_fn) (const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
						  const enum CBLAS_TRANSPOSE, const blasint,
						  const blasint, const blasint, const float,
						  const float *, const blasint, const float *,
						  const blasint, const float, float *, const blasint);
typedef void (*set_threads_fn) (int);
typedef char *(*corename_fn) (void);

static void *blas_handle = NULL;
static sgemm_fn blas_sgemm = NULL;
static set_threads_fn blas_set_threads = NULL;
static corename_fn blas_corename = NULL;
static corename_fn blas_config = NULL;
static int	blas_threads = 1;

/* Opens OpenBLAS with a one-thread pool, or raises an ERROR. */
void
BertBlasEnsureLoaded(void)
{
	const char *last_error = NULL;

	if (blas_handle != NULL)
		return;

	setenv("OPENBLAS_NUM_THREADS", "1", 1);
	for (int i = 0; i < (int) lengthof(blas_sonames) && blas_handle == NULL; i++)
	{
		blas_handle = dlopen(blas_sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (blas_handle == NULL)
			last_error = dlerror();
	}
	if (blas_handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FILE),
				 errmsg("could not load OpenBLAS"),
				 errdetail("%s", last_error ? last_error : "dlopen failed"),
				 errhint("Install the OpenBLAS runtime (Debian: apt-get install libopenblas0).")));

	blas_sgemm = (sgemm_fn) dlsym(blas_handle, "cblas_sgemm");
	blas_set_threads = (set_threads_fn) dlsym(blas_handle, "openblas_set_num_threads");
	blas_corename = (corename_fn) dlsym(blas_handle, "openblas_get_corename");
	blas_config = (corename_fn) dlsym(blas_handle, "openblas_get_config");
	if (blas_sgemm == NULL || blas_set_threads == NULL)
	{
		dlclose(blas_handle);
		blas_handle = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("the loaded BLAS library is not OpenBLAS"),
				 errdetail("cblas_sgemm or openblas_set_num_threads is missing."),
				 errhint("Install the OpenBLAS runtime (Debian: apt-get install libopenblas0).")));
	}
	blas_set_threads(1);
	blas_threads = 1;
}

/* Sets the number of OpenBLAS threads of this backend. */
void
BertBlasSetThreads(int threads)
{
	BertBlasEnsureLoaded();
	if (threads != blas_threads)
	{
		blas_set_threads(threads);
		blas_threads = threads;
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
