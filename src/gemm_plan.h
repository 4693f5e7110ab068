/*
 * gemm_plan.h
 *		How the encoder's linear maps call OpenBLAS, chosen at run time for
 *		the CPU and OpenBLAS kernel at hand (gemm_plan.c).
 */
#ifndef BERT_GEMM_PLAN_H
#define BERT_GEMM_PLAN_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Ways to compute y (rows, out) += x (rows, in) W^T.  NT reads W as
 * nn.Linear stores it, (out, in), with NoTrans/Trans; NN reads a transposed
 * copy W^T (in, out) with NoTrans/NoTrans.  TILED cuts the product into
 * tiles of 32 output columns, small enough for OpenBLAS's unpacked
 * small-matrix kernels.  Stored in cache files: never renumber.
 */
typedef enum BertGemmStrategy
{
	BERT_GEMM_NT = 0,
	BERT_GEMM_NT_TILED = 1,
	BERT_GEMM_NN = 2,
	BERT_GEMM_NN_TILED = 3,
	BERT_GEMM_NUM_STRATEGIES
} BertGemmStrategy;

/* bert.gemm_strategy: BERT_GEMM_AUTO or a BertGemmStrategy forced */
#define BERT_GEMM_AUTO (-1)

/*
 * Row buckets: a product of `rows` rows uses the strategy of the first
 * bucket whose bound is >= rows.  The first two are measured (at 12 and 32
 * rows, or 32 only for large matrices); longer products are one call, in
 * the shape's layout.
 */
#define BERT_GEMM_BUCKETS 4
#define BERT_GEMM_BUCKET_ROWS {16, 48, 160, INT32_MAX}

#define BERT_GEMM_MAX_SHAPES 8

/* How the plan was made (shown by bert_models()). */
typedef enum BertGemmPlanSource
{
	BERT_GEMM_PLAN_PRIOR = 0,	/* from the OpenBLAS core name alone */
	BERT_GEMM_PLAN_MEASURED = 1,	/* timed on this machine */
	BERT_GEMM_PLAN_FORCED = 2	/* bert.gemm_strategy */
} BertGemmPlanSource;

/* The plan of one weight shape (out, in).  Plain data: kept in cache files. */
typedef struct BertGemmShapePlan
{
	int32_t		in;
	int32_t		out;
	uint8_t		transposed;		/* layer weights of this shape prepared as
								 * W^T (in, out) */
	uint8_t		strategy[BERT_GEMM_BUCKETS];	/* BertGemmStrategy per bucket */
	uint8_t		reserved[3];
	float		gflops[BERT_GEMM_BUCKETS];	/* measured rate of the strategy
											 * chosen; 0: not measured */
} BertGemmShapePlan;

/* The plan of one model: its distinct layer weight shapes.  Plain data. */
typedef struct BertGemmPlan
{
	int32_t		source;			/* BertGemmPlanSource */
	int32_t		num_shapes;
	char		corename[32];	/* openblas_get_corename() when made */
	float		measure_ms;		/* CPU time the measurement took */
	int32_t		reserved;
	BertGemmShapePlan shapes[BERT_GEMM_MAX_SHAPES];
} BertGemmPlan;

/*
 * Fills `plan` for the layer weight shapes (out, in) given (duplicates
 * ignored, at most BERT_GEMM_MAX_SHAPES kept): `forced` (a strategy, or
 * BERT_GEMM_AUTO for the prior rule of this OpenBLAS core).
 */
extern void BertGemmPlanInit(BertGemmPlan *plan, const int32_t (*shapes)[2],
							 int num_shapes, int forced);

/*
 * Times every strategy on each shape of `plan` at the measured row counts
 * (the weights evicted from the caches before each product, as they are
 * when their layer's turn comes) and keeps the fastest, with hysteresis:
 * the transposed layout, or the strategy the prior rule does not choose,
 * only where it is at least 10% faster.  Takes about 3 ms of CPU per shape
 * of a small model and 20 ms per large one (BERT-base's 768 x 3072).
 * Raises an ERROR only on out-of-memory or cancel.
 */
extern void BertGemmPlanMeasure(BertGemmPlan *plan);

/* True if `plan` is well formed (read from a file). */
extern bool BertGemmPlanValid(const BertGemmPlan *plan);

/* Whether layer weights of shape (out, in) are to be prepared as W^T. */
extern bool BertGemmPlanTransposed(const BertGemmPlan *plan, int in, int out);

/*
 * y (rows, out) += x (rows, in) W^T by the plan's strategy for this shape
 * and row count.  w is W (out, in) as stored, wt its transpose (in, out);
 * either may be NULL (not both): a strategy that needs the missing one runs
 * its counterpart on the other.  plan NULL, or a shape not in it: the prior
 * rule.
 */
extern void BertGemmLinear(const BertGemmPlan *plan, float *y, const float *x,
						   const float *w, const float *wt, int rows, int in,
						   int out);

/* One-line description: "measured Cooperlake 9.1 ms; 256->1024 kn nn_tiled@83/..." */
extern char *BertGemmPlanDescribe(const BertGemmPlan *plan);

/* Name of a strategy ("nt", "nt_tiled", "nn", "nn_tiled"). */
extern const char *BertGemmStrategyName(int strategy);

#endif							/* BERT_GEMM_PLAN_H */
