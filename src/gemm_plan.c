/*
 * gemm_plan.c
 *		Run-time choice of how each linear map calls OpenBLAS.
 *
 * On few rows the fastest way to compute x W^T depends on the OpenBLAS
 * kernel.  The AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids) have
 * unpacked "small matrix" kernels for products of at most 100^3
 * multiply-adds, which read W in place: cutting a product of 25 rows into
 * tiles of 32 output columns runs it 1.5-2x faster there.  The AVX2 kernels
 * (Haswell, Zen) have no such path, and tiles only add calls: one call is
 * 1.2-2x faster than tiles.  With few rows, OpenBLAS also runs faster on
 * some shapes when B is K x N (NoTrans/NoTrans, a transposed copy of the
 * weights) than as nn.Linear stores it (N x K, NoTrans/Trans).  Figures of
 * one CPU say little about the next, so the choice is made here, per model
 * and weight shape:
 *
 *	- measured: when the model's prepared copy is built (weight_cache.c),
 *	  BertGemmPlanMeasure() times the four strategies on each layer weight
 *	  shape at 12 and 32 rows (32 only for matrices over 1M weights), on
 *	  scratch matrices of the full size, evicted from the caches before each
 *	  product (as a layer's weights are when its turn comes in a forward
 *	  pass), with the CPU-time clock of the
 *	  thread (a busy machine preempts, but does not lengthen that), best of
 *	  up to three rounds.  A shape takes the transposed layout only where
 *	  it is 10% faster, and each row bucket the faster of tiles and one
 *	  call, the prior rule's choice unless the other is 10% faster: where
 *	  two strategies are close, the plan keeps the default rather than
 *	  follow the noise of one timing.  Products of more than 48
 *	  rows are one call: there OpenBLAS packs the weights anyway.  The plan
 *	  is kept in a plan file of bert.cache_dir, one per set of weight
 *	  shapes, so every backend and parallel worker, and every copy of a
 *	  model, uses the same plan and computes the same bits; it is made again
 *	  when the CPU, the OpenBLAS core or the library changes, or when the
 *	  file is deleted.
 *	- prior: without a cache file (bert.cache_dir = '', or not writable)
 *	  nothing measured can be shared, and each backend must still compute
 *	  what the others do, so the plan follows the core name alone: tiles on
 *	  the AVX-512 kernels, one call elsewhere, weights as stored.
 *	- forced: bert.gemm_strategy (a developer setting) runs one strategy
 *	  everywhere, for tests.
 *
 * Every strategy computes the same sums in another order: results agree to
 * float rounding (about 1e-7 relative).  Pure C over OpenBLAS (no ereport
 * except through palloc and CHECK_FOR_INTERRUPTS).
 */
#include "postgres.h"

#include <time.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "bert.h"
#include "blas.h"
#include "gemm_plan.h"

#define TILE_COLS 32
#define SMALL_KERNEL_MNK 1000000	/* OpenBLAS small-matrix kernel bound */
#define MEASURE_BUDGET_S 0.003		/* CPU per shape, past the first round */
#define MEASURE_ROUNDS 3
#define MEASURE_SLICE_WEIGHTS (4 * 1024 * 1024)	/* weights of W timed, at most */
#define MEASURE_ONE_COUNT (1024 * 1024)	/* beyond: timed at 32 rows only */
#define KN_MARGIN 0.9			/* the transposed layout must save 10% */
#define PRIOR_MARGIN 0.9		/* leaving the prior rule must save 10% */

static const int bucket_rows[BERT_GEMM_BUCKETS] = BERT_GEMM_BUCKET_ROWS;
static const int measured_rows[2] = {12, 32};

static const char *const strategy_names[BERT_GEMM_NUM_STRATEGIES] = {
	"nt", "nt_tiled", "nn", "nn_tiled"
};
static const char *const source_names[] = {"prior", "measured", "forced"};

/* -1: not known yet; else whether this OpenBLAS core has small kernels */
static int	core_has_small_kernels = -1;

/* Whether the loaded OpenBLAS core has the AVX-512 small-matrix kernels. */
static bool
small_kernels(void)
{
	if (core_has_small_kernels < 0)
	{
		const char *core = BertBlasCoreName();

		core_has_small_kernels = (pg_strcasecmp(core, "SkylakeX") == 0 ||
								  pg_strcasecmp(core, "Cooperlake") == 0 ||
								  pg_strcasecmp(core, "SapphireRapids") == 0);
	}
	return core_has_small_kernels;
}

/*
 * The rule without measurement, for weights as stored: tiles of 32 columns
 * where OpenBLAS has small-matrix kernels and the product is short (or its
 * input narrow), one call otherwise.
 */
static BertGemmStrategy
prior_strategy(int rows, int in, int out)
{
	if (small_kernels() && out % TILE_COLS == 0 &&
		(rows <= 32 || (int64) rows * in <= 32768))
		return BERT_GEMM_NT_TILED;
	return BERT_GEMM_NT;
}

static int
bucket_of(int rows)
{
	for (int b = 0; b < BERT_GEMM_BUCKETS - 1; b++)
		if (rows <= bucket_rows[b])
			return b;
	return BERT_GEMM_BUCKETS - 1;
}

static const BertGemmShapePlan *
find_shape(const BertGemmPlan *plan, int in, int out)
{
	for (int i = 0; plan && i < plan->num_shapes; i++)
		if (plan->shapes[i].in == in && plan->shapes[i].out == out)
			return &plan->shapes[i];
	return NULL;
}

static bool
is_nn(int s)
{
	return s == BERT_GEMM_NN || s == BERT_GEMM_NN_TILED;
}

static bool
is_tiled(int s)
{
	return s == BERT_GEMM_NT_TILED || s == BERT_GEMM_NN_TILED;
}

/*
 * Runs one strategy: y (rows, out) += x (rows, in) W^T, with w (out, in)
 * for NT and wt (in, out), rows ldwt apart, for NN.  Tiles are 32 columns by as many rows
 * (at most 32) as keep each under the small-kernel bound.
 */
static void
run_strategy(int s, float *y, const float *x, const float *w, const float *wt,
			 int ldwt, int rows, int in, int out)
{
	int			tile_rows;

	if (!is_tiled(s))
	{
		if (is_nn(s))
			BertSgemm(0, rows, out, in, 1.0f, x, in, wt, ldwt, 1.0f, y, out);
		else
			BertSgemm(1, rows, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
		return;
	}
	tile_rows = Max(1, Min(32, SMALL_KERNEL_MNK / (TILE_COLS * in)));
	for (int r = 0; r < rows; r += tile_rows)
	{
		int			m = Min(tile_rows, rows - r);
		const float *xr = x + (size_t) r * in;
		float	   *yr = y + (size_t) r * out;

		for (int n = 0; n < out; n += TILE_COLS)
		{
			int			cols = Min(TILE_COLS, out - n);

			if (is_nn(s))
				BertSgemm(0, m, cols, in, 1.0f, xr, in, wt + n, ldwt, 1.0f,
						  yr + n, out);
			else
				BertSgemm(1, m, cols, in, 1.0f, xr, in, w + (size_t) n * in, in,
						  1.0f, yr + n, out);
		}
	}
}

/* y (rows, out) += x W^T by the plan (see gemm_plan.h). */
void
BertGemmLinear(const BertGemmPlan *plan, float *y, const float *x,
			   const float *w, const float *wt, int rows, int in, int out)
{
	const BertGemmShapePlan *sp = find_shape(plan, in, out);
	int			s;

	if (sp != NULL && plan->source != BERT_GEMM_PLAN_PRIOR)
		s = sp->strategy[bucket_of(rows)];
	else
		s = prior_strategy(rows, in, out);
	/* the counterpart on the layout that exists */
	if (is_nn(s) && wt == NULL)
		s = (s == BERT_GEMM_NN) ? BERT_GEMM_NT : BERT_GEMM_NT_TILED;
	else if (!is_nn(s) && w == NULL)
		s = (s == BERT_GEMM_NT) ? BERT_GEMM_NN : BERT_GEMM_NN_TILED;
	run_strategy(s, y, x, w, wt, out, rows, in, out);
}

/* Plan for the shapes given (see gemm_plan.h). */
void
BertGemmPlanInit(BertGemmPlan *plan, const int32_t (*shapes)[2], int num_shapes,
				 int forced)
{
	memset(plan, 0, sizeof(*plan));
	plan->source = forced == BERT_GEMM_AUTO ? BERT_GEMM_PLAN_PRIOR : BERT_GEMM_PLAN_FORCED;
	strlcpy(plan->corename, BertBlasCoreName(), sizeof(plan->corename));
	for (int i = 0; i < num_shapes && plan->num_shapes < BERT_GEMM_MAX_SHAPES; i++)
	{
		int			out = shapes[i][0],
					in = shapes[i][1];
		BertGemmShapePlan *sp;

		if (in <= 0 || out <= 0 || find_shape(plan, in, out) != NULL)
			continue;
		/* in order of (in, out), so that a shape set has one form */
		sp = &plan->shapes[plan->num_shapes];
		while (sp > plan->shapes &&
			   (sp[-1].in > in || (sp[-1].in == in && sp[-1].out > out)))
		{
			sp[0] = sp[-1];
			sp--;
		}
		plan->num_shapes++;
		memset(sp, 0, sizeof(*sp));
		sp->in = in;
		sp->out = out;
		sp->transposed = forced != BERT_GEMM_AUTO && is_nn(forced);
		for (int b = 0; b < BERT_GEMM_BUCKETS; b++)
			sp->strategy[b] = forced != BERT_GEMM_AUTO ? (BertGemmStrategy) forced :
				prior_strategy(Min(bucket_rows[b], 1024), in, out);
	}
}

/* CPU seconds of the calling thread. */
static double
thread_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Fills n floats with reproducible values in [-scale, scale]: a block of
 * pseudo-random ones, repeated (the values only need to be ordinary
 * floats, not denormals, for the timing).
 */
static void
fill_values(float *p, size_t n, float scale)
{
	uint32		seed = 42;
	size_t		block = Min(n, (size_t) 4096);

	for (size_t i = 0; i < block; i++)
	{
		seed = seed * 1103515245u + 12345u;
		p[i] = ((int) ((seed >> 8) & 0xffff) - 32768) * (scale / 32768.0f);
	}
	for (size_t done = block; done < n; done += Min(done, n - done))
		memcpy(p + done, p, Min(done, n - done) * sizeof(float));
}

/*
 * Evicts n bytes at p from every cache level, so that the next product
 * reads them from memory.  No-op where there is no cache-line flush.
 */
static void
evict(const void *p, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
	for (size_t off = 0; off < n; off += 64)
		__builtin_ia32_clflush((const char *) p + off);
	__builtin_ia32_mfence();
#else
	(void) p;
	(void) n;
#endif
}

/*
 * Decides shape sp from the best times of each strategy at each measured
 * row count (best[b][s], seconds; counts below first_count not timed) over
 * `out` output columns: the layout by the sum of per-row times, then per
 * bucket the prior rule's strategy unless the other is 10% faster.
 */
static void
decide(BertGemmShapePlan *sp, double best[][BERT_GEMM_NUM_STRATEGIES],
	   int first_count, int out)
{
	int			in = sp->in,
				full = sp->out;
	double		cost[2] = {0, 0};	/* per row, weights as stored / transposed */
	bool		kn;

	/* row counts not timed take the times of the next one, per row */
	for (int b = first_count - 1; b >= 0; b--)
		for (int s = 0; s < BERT_GEMM_NUM_STRATEGIES; s++)
			best[b][s] = best[b + 1][s] * measured_rows[b] / measured_rows[b + 1];

	/* the layout: the better sum, over the row counts, of per-row times */
	for (int b = 0; b < (int) lengthof(measured_rows); b++)
	{
		cost[0] += Min(best[b][BERT_GEMM_NT], best[b][BERT_GEMM_NT_TILED]) / measured_rows[b];
		cost[1] += Min(best[b][BERT_GEMM_NN], best[b][BERT_GEMM_NN_TILED]) / measured_rows[b];
	}
	kn = cost[1] < cost[0] * KN_MARGIN;
	sp->transposed = kn;
	for (int b = 0; b < BERT_GEMM_BUCKETS; b++)
	{
		int			one = kn ? BERT_GEMM_NN : BERT_GEMM_NT;
		int			tiled = kn ? BERT_GEMM_NN_TILED : BERT_GEMM_NT_TILED;
		int			mb = Min(b, (int) lengthof(measured_rows) - 1);

		if (b >= (int) lengthof(measured_rows))
		{
			/* long products: one call; OpenBLAS packs the weights anyway */
			sp->strategy[b] = one;
			sp->gflops[b] = 0;
			continue;
		}
		/* the prior rule's choice stands unless the other is 10% faster */
		if (prior_strategy(measured_rows[mb], in, full) == BERT_GEMM_NT_TILED)
			sp->strategy[b] = best[mb][one] < best[mb][tiled] * PRIOR_MARGIN ? one : tiled;
		else
			sp->strategy[b] = best[mb][tiled] < best[mb][one] * PRIOR_MARGIN ? tiled : one;
		sp->gflops[b] = (float) (2.0 * measured_rows[mb] * in * out /
								 Max(best[mb][sp->strategy[b]], 1e-9) / 1e9);
	}
}

/*
 * Measures and decides one shape (see BertGemmPlanMeasure).  The matrices
 * are full size, so that they come from memory as the model's do (a slice
 * that fits in cache ranks the strategies otherwise); a W of more than
 * MEASURE_SLICE_WEIGHTS weights is timed on a slice of its output columns,
 * read with the full matrix's stride, and one of more than
 * MEASURE_ONE_COUNT weights at 32 rows only (the shorter bucket then takes
 * the same choice).  The weights are evicted from the caches before each
 * timed product: in a forward pass a layer's weights come back only after
 * the other layers' (and the rest of the server's work) went through the
 * caches, and timed warm, some strategies look better than they run.
 */
static void
measure_shape(BertGemmShapePlan *sp)
{
	int			in = sp->in,
				full = sp->out,
				out = full,
				maxm = measured_rows[lengthof(measured_rows) - 1],
				first_count = 0;
	size_t		wn = (size_t) in * full;
	float	   *w = MemoryContextAllocHuge(CurrentMemoryContext, wn * sizeof(float));
	float	   *wt = MemoryContextAllocHuge(CurrentMemoryContext, wn * sizeof(float));
	float	   *x = MemoryContextAllocHuge(CurrentMemoryContext,
										   (size_t) maxm * in * sizeof(float));
	float	   *y = MemoryContextAllocHuge(CurrentMemoryContext,
										   (size_t) maxm * out * sizeof(float));
	double		best[lengthof(measured_rows)][BERT_GEMM_NUM_STRATEGIES];
	double		start = thread_seconds();

	if ((int64) in * full > MEASURE_SLICE_WEIGHTS)
		out = Min(full, Max(TILE_COLS, MEASURE_SLICE_WEIGHTS / in / TILE_COLS * TILE_COLS));
	if ((int64) in * out > MEASURE_ONE_COUNT)
		first_count = lengthof(measured_rows) - 1;
	fill_values(w, wn, 0.05f);
	fill_values(wt, wn, 0.05f);
	fill_values(x, (size_t) maxm * in, 1.0f);
	memset(y, 0, (size_t) maxm * out * sizeof(float));
	for (int b = 0; b < (int) lengthof(measured_rows); b++)
		for (int s = 0; s < BERT_GEMM_NUM_STRATEGIES; s++)
			best[b][s] = 1e30;

	/* rounds of every strategy, interleaved; at least one, then the budget */
	for (int round = 0; round < MEASURE_ROUNDS; round++)
	{
		if (round > 0 && thread_seconds() - start > MEASURE_BUDGET_S)
			break;
		CHECK_FOR_INTERRUPTS();
		for (int b = first_count; b < (int) lengthof(measured_rows); b++)
			for (int s = 0; s < BERT_GEMM_NUM_STRATEGIES; s++)
			{
				double		t0,
							t;

				evict(is_nn(s) ? wt : w, wn * sizeof(float));
				t0 = thread_seconds();
				run_strategy(s, y, x, w, wt, full, measured_rows[b], in, out);
				t = thread_seconds() - t0;
				best[b][s] = Min(best[b][s], t);
			}
	}
	decide(sp, best, first_count, out);
	pfree(w);
	pfree(wt);
	pfree(x);
	pfree(y);
}

/* Measures every shape of the plan (see gemm_plan.h). */
void
BertGemmPlanMeasure(BertGemmPlan *plan)
{
	double		start = thread_seconds();

	BertBlasSetThreads(1);
	for (int i = 0; i < plan->num_shapes; i++)
		measure_shape(&plan->shapes[i]);
	plan->source = BERT_GEMM_PLAN_MEASURED;
	plan->measure_ms = (float) ((thread_seconds() - start) * 1000.0);
}

/* Sanity of a plan read from a file (see gemm_plan.h). */
bool
BertGemmPlanValid(const BertGemmPlan *plan)
{
	if (plan->source < BERT_GEMM_PLAN_PRIOR || plan->source > BERT_GEMM_PLAN_FORCED ||
		plan->num_shapes < 0 || plan->num_shapes > BERT_GEMM_MAX_SHAPES ||
		memchr(plan->corename, '\0', sizeof(plan->corename)) == NULL)
		return false;
	for (int i = 0; i < plan->num_shapes; i++)
	{
		const BertGemmShapePlan *sp = &plan->shapes[i];

		if (sp->in <= 0 || sp->out <= 0 || sp->transposed > 1)
			return false;
		for (int b = 0; b < BERT_GEMM_BUCKETS; b++)
			if (sp->strategy[b] >= BERT_GEMM_NUM_STRATEGIES)
				return false;
	}
	return true;
}

/* Whether weights of shape (out, in) are prepared transposed. */
bool
BertGemmPlanTransposed(const BertGemmPlan *plan, int in, int out)
{
	const BertGemmShapePlan *sp = find_shape(plan, in, out);

	return sp != NULL && sp->transposed;
}

const char *
BertGemmStrategyName(int strategy)
{
	if (strategy < 0 || strategy >= BERT_GEMM_NUM_STRATEGIES)
		return "?";
	return strategy_names[strategy];
}

/*
 * "measured Cooperlake 1.2 ms; 256->1024 nk nt_tiled@95/nt@80/nt/nt; ..."
 * (in -> out features, layout of the weights, the strategy of each row
 * bucket with the GFLOP/s measured), or the prior rule in words.
 */
char *
BertGemmPlanDescribe(const BertGemmPlan *plan)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfo(&s, "%s %s", source_names[plan->source], plan->corename);
	if (plan->source == BERT_GEMM_PLAN_PRIOR)
	{
		/* the rule of prior_strategy(), which runs on the exact row count */
		appendStringInfoString(&s, small_kernels()
							   ? ": weights as stored, nt_tiled up to 32 rows (or narrow inputs), nt beyond"
							   : ": weights as stored, nt");
		return s.data;
	}
	if (plan->source == BERT_GEMM_PLAN_MEASURED)
		appendStringInfo(&s, " %.1f ms", plan->measure_ms);
	for (int i = 0; i < plan->num_shapes; i++)
	{
		const BertGemmShapePlan *sp = &plan->shapes[i];

		appendStringInfo(&s, "; %d->%d %s", sp->in, sp->out,
						 sp->transposed ? "kn" : "nk");
		for (int b = 0; b < BERT_GEMM_BUCKETS; b++)
		{
			appendStringInfo(&s, "%s%s", b ? "/" : " ",
							 BertGemmStrategyName(sp->strategy[b]));
			if (sp->gflops[b] > 0)
				appendStringInfo(&s, "@%.0f", sp->gflops[b]);
		}
	}
	return s.data;
}
