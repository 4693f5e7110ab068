/*
 * gemm_bench.c — the OpenBLAS sgemm rate on the shapes the extension runs.
 *
 *   gemm_bench HIDDEN INTERMEDIATE HEADS LAYERS SECONDS < lengths
 *   gemm_bench --corename
 *
 * Reads one token count per line (the rows of a workload).  For each row, in
 * order, runs every matrix product of the encoder exactly as src/encoder.c
 * calls it (row-major, y = x W^T: NoTrans/Trans; one weight set per layer so
 * the weights stream from memory as they do in the backend):
 *   per layer: Q, K, V, attention output  (M=T, N=H, K=H, B transposed)
 *              intermediate               (M=T, N=I, K=H, B transposed)
 *              output                     (M=T, N=H, K=I, B transposed)
 *              per head: Q K^T            (M=T, N=T, K=H/A, B transposed)
 *                        P V              (M=T, N=H/A, K=T)
 * until SECONDS have passed (at least one row; all rows if they fit), after
 * one untimed warm-up row; then the six dense products alone over the rows
 * timed.  Prints one JSON line: the kernel OpenBLAS chose,
 * rows timed, FLOPs counted as 2*M*N*K per product, seconds, GFLOP/s of the
 * dense products alone and of all products, and the CPU seconds of the
 * timed loop (wall seconds well above them: the machine was busy).  Run it with
 * OPENBLAS_NUM_THREADS=1, as the extension opens OpenBLAS (a one-thread
 * pool); without it, the pool is set to one thread after start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static float *
alloc_fill(size_t n, float scale, unsigned *seed)
{
	float	   *p = aligned_alloc(64, ((n * sizeof(float)) + 63) / 64 * 64);

	if (p == NULL)
	{
		perror("aligned_alloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
	{
		*seed = *seed * 1103515245u + 12345u;
		p[i] = ((int) ((*seed >> 8) & 0xffff) - 32768) / 32768.0f * scale;
	}
	return p;
}

typedef struct
{
	float	   *wq, *wk, *wv, *wo, *wi, *wout;
} Layer;

/*
 * y (m, n) += x (m, k) W^T, W (n, k): the extension fills y with the bias
 * (and residual) first and calls sgemm with beta = 1
 */
static void
linear(int m, int n, int k, const float *x, const float *w, float *y)
{
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f,
				x, k, w, k, 1.0f, y, n);
}

/* one row through every layer; returns dense and attention FLOPs */
static void
run_row(int t, int h, int inter, int heads, int layers, Layer *lw,
		const float *x, float *q, float *k, float *v, float *ctx, float *ao,
		float *mid, float *out, float *scores, double *dense, double *attn)
{
	int			d = h / heads;

	for (int l = 0; l < layers; l++)
	{
		linear(t, h, h, x, lw[l].wq, q);
		linear(t, h, h, x, lw[l].wk, k);
		linear(t, h, h, x, lw[l].wv, v);
		for (int a = 0; a < heads; a++)
		{
			size_t		off = (size_t) a * d;

			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, d,
						0.125f, q + off, h, k + off, h, 0.0f, scores, t);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, d, t,
						1.0f, scores, t, v + off, h, 0.0f, ctx + off, h);
		}
		linear(t, h, h, ctx, lw[l].wo, ao);
		linear(t, inter, h, ao, lw[l].wi, mid);
		linear(t, h, inter, mid, lw[l].wout, out);
		*dense += 2.0 * t * (4.0 * h * h + 2.0 * h * inter);
		*attn += 4.0 * (double) t * t * h;
	}
}

int
main(int argc, char **argv)
{
	int			h, inter, heads, layers, nrows = 0, cap = 1024, maxt = 1, timed = 0;
	int		   *len;
	double		budget, dense = 0, attn = 0, t0, c0, elapsed, cpu, dense_s = 0;
	unsigned	seed = 42;
	Layer	   *lw;
	float	   *x, *q, *k, *v, *ctx, *ao, *mid, *out, *scores;

	if (argc == 2 && strcmp(argv[1], "--corename") == 0)
	{
		printf("%s\n", openblas_get_corename());
		return 0;
	}
	if (argc != 6)
	{
		fprintf(stderr, "usage: %s HIDDEN INTERMEDIATE HEADS LAYERS SECONDS < lengths\n"
				"       %s --corename\n", argv[0], argv[0]);
		return 2;
	}
	h = atoi(argv[1]);
	inter = atoi(argv[2]);
	heads = atoi(argv[3]);
	layers = atoi(argv[4]);
	budget = atof(argv[5]);
	if (getenv("OPENBLAS_NUM_THREADS") == NULL)
		openblas_set_num_threads(1);

	len = malloc(cap * sizeof(int));
	while (scanf("%d", &len[nrows]) == 1)
	{
		if (len[nrows] > maxt)
			maxt = len[nrows];
		if (++nrows == cap)
			len = realloc(len, (cap *= 2) * sizeof(int));
	}
	if (nrows == 0)
	{
		fprintf(stderr, "no token counts on stdin\n");
		return 2;
	}

	lw = calloc(layers, sizeof(Layer));
	for (int l = 0; l < layers; l++)
	{
		lw[l].wq = alloc_fill((size_t) h * h, 0.05f, &seed);
		lw[l].wk = alloc_fill((size_t) h * h, 0.05f, &seed);
		lw[l].wv = alloc_fill((size_t) h * h, 0.05f, &seed);
		lw[l].wo = alloc_fill((size_t) h * h, 0.05f, &seed);
		lw[l].wi = alloc_fill((size_t) h * inter, 0.05f, &seed);
		lw[l].wout = alloc_fill((size_t) h * inter, 0.05f, &seed);
	}
	/*
	 * Every layer reads the same input x (values of a layer-normed row's
	 * size) and no output is fed back, so no value decays into denormals,
	 * which would slow the products down.
	 */
	x = alloc_fill((size_t) maxt * h, 1.0f, &seed);
	q = alloc_fill((size_t) maxt * h, 0.0f, &seed);
	k = alloc_fill((size_t) maxt * h, 0.0f, &seed);
	v = alloc_fill((size_t) maxt * h, 0.0f, &seed);
	ctx = alloc_fill((size_t) maxt * h, 0.0f, &seed);
	ao = alloc_fill((size_t) maxt * h, 0.0f, &seed);
	mid = alloc_fill((size_t) maxt * inter, 0.0f, &seed);
	out = alloc_fill((size_t) maxt * h, 0.0f, &seed);
	scores = alloc_fill((size_t) maxt * maxt, 0.0f, &seed);

	/* warm-up: OpenBLAS buffers, page faults */
	{
		double		dd = 0, aa = 0;

		run_row(len[0], h, inter, heads, layers, lw, x, q, k, v, ctx, ao, mid,
				out, scores, &dd, &aa);
	}

	t0 = now();
	c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
	for (int r = 0; r < nrows; r++)
	{
		run_row(len[r], h, inter, heads, layers, lw, x, q, k, v, ctx, ao, mid,
				out, scores, &dense, &attn);
		timed++;
		if (now() - t0 >= budget)
			break;
	}
	elapsed = now() - t0;
	cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;

	/* the dense products alone, over the same rows */
	{
		double		t1 = now();

		for (int r = 0; r < timed; r++)
			for (int l = 0; l < layers; l++)
			{
				int			t = len[r];

				linear(t, h, h, x, lw[l].wq, q);
				linear(t, h, h, x, lw[l].wk, k);
				linear(t, h, h, x, lw[l].wv, v);
				linear(t, h, h, ctx, lw[l].wo, ao);
				linear(t, inter, h, ao, lw[l].wi, mid);
				linear(t, h, inter, mid, lw[l].wout, out);
			}
		dense_s = now() - t1;
	}

	printf("{\"corename\": \"%s\", \"rows\": %d, \"of_rows\": %d, \"seconds\": %.6f, "
		   "\"dense_flops\": %.0f, \"attn_flops\": %.0f, \"gflops_all\": %.3f, "
		   "\"dense_seconds\": %.6f, \"gflops_dense\": %.3f, \"cpu_seconds\": %.6f}\n",
		   openblas_get_corename(), timed, nrows, elapsed, dense, attn,
		   (dense + attn) / elapsed / 1e9, dense_s, dense / dense_s / 1e9, cpu);
	return 0;
}
