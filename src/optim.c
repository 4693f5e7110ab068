/*
 * optim.c
 *		AdamW with decoupled weight decay, global-norm gradient clipping, the
 *		linear warmup / linear decay learning-rate schedule, and the seeded
 *		random number generator behind dropout, shuffling, masking and
 *		initialisation.
 *
 * The optimizer and the schedule follow PyTorch and Hugging Face Trainer
 * defaults exactly (torch.optim.AdamW, torch.nn.utils.clip_grad_norm_,
 * transformers.get_linear_schedule_with_warmup), which the golden training
 * steps of ../shared/tools/ref/golden_train.py were made with.
 *
 * Pure C: no fmgr, no ereport.
 */
#ifdef BERT_STANDALONE
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <math.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

#include "train.h"
#include "vecmath.h"

/* splitmix64 (Steele et al. 2014): spreads a seed over the state. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Seeds the generator; the same seed gives the same stream everywhere. */
void
BertRngSeed(BertRng *rng, uint64_t seed)
{
	uint64_t	x = seed;

	for (int i = 0; i < 4; i++)
		rng->s[i] = splitmix64(&x);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Next 64 random bits (xoshiro256**). */
uint64_t
BertRngNext(BertRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/*
 * n random 32-bit words into out: the high then the low half of each
 * BertRngNext() draw, the state kept in registers over the whole run.
 */
void
BertRngFill32(BertRng *rng, uint32_t *out, size_t n)
{
	uint64_t	s0 = rng->s[0],
				s1 = rng->s[1],
				s2 = rng->s[2],
				s3 = rng->s[3];

	for (size_t i = 0; i < n; i += 2)
	{
		uint64_t	result = rotl(s1 * 5, 7) * 9;
		uint64_t	t = s1 << 17;

		s2 ^= s0;
		s3 ^= s1;
		s1 ^= s2;
		s0 ^= s3;
		s2 ^= t;
		s3 = rotl(s3, 45);
		out[i] = (uint32_t) (result >> 32);
		if (i + 1 < n)
			out[i + 1] = (uint32_t) result;
	}
	rng->s[0] = s0;
	rng->s[1] = s1;
	rng->s[2] = s2;
	rng->s[3] = s3;
}

/* Uniform double in [0, 1), 53 random bits. */
double
BertRngUniform(BertRng *rng)
{
	return (BertRngNext(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n), n > 0, without modulo bias (Lemire 2019). */
uint32_t
BertRngBelow(BertRng *rng, uint32_t n)
{
	uint64_t	m = (BertRngNext(rng) >> 32) * (uint64_t) n;

	if ((uint32_t) m < n)
	{
		uint32_t	t = (uint32_t) (-n) % n;

		while ((uint32_t) m < t)
			m = (BertRngNext(rng) >> 32) * (uint64_t) n;
	}
	return (uint32_t) (m >> 32);
}

/* Standard normal deviate (Box-Muller). */
double
BertRngNormal(BertRng *rng)
{
	double		u1 = 1.0 - BertRngUniform(rng);	/* (0, 1] */
	double		u2 = BertRngUniform(rng);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* Fisher-Yates shuffle of items (n). */
void
BertRngShuffle(BertRng *rng, int *items, int n)
{
	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) BertRngBelow(rng, (uint32_t) i + 1);
		int			t = items[i];

		items[i] = items[j];
		items[j] = t;
	}
}

/*
 * Learning rate of optimizer step `step` (from 0): linear warmup from 0
 * over warmup_steps, then linear decay to 0 at total_steps, as
 * get_linear_schedule_with_warmup (LambdaLR stepped after each optimizer
 * step, so step 0 runs at 0 when there is a warmup).
 */
double
BertLinearSchedule(int64_t step, int64_t warmup_steps, int64_t total_steps,
				   double learning_rate)
{
	double		factor;

	if (step < warmup_steps)
		factor = (double) step / (double) Max(1, warmup_steps);
	else
		factor = Max(0.0, (double) (total_steps - step) /
					 (double) Max(1, total_steps - warmup_steps));
	return learning_rate * factor;
}

/* Sum of squares of n floats, in double. */
BERT_MULTIVERSION
static double
sum_squares(const float *x, size_t n)
{
	double		sum = 0.0;

#pragma omp simd reduction(+:sum)
	for (size_t i = 0; i < n; i++)
		sum += (double) x[i] * x[i];
	return sum;
}

/* Calls fn(t, offset, count, arg) for every part of the gradient that can be non-zero. */
typedef void (*GradRangeFn) (BertTrainer *t, int param, size_t offset,
							 size_t count, void *arg);

static void
for_each_gradient(BertTrainer *t, GradRangeFn fn, void *arg)
{
	size_t		h = t->config.hidden_size;

	for (int k = 0; k < t->num_params; k++)
	{
		const BertParam *p = &t->param[k];

		if (k != t->word_param)
		{
			fn(t, k, p->offset, p->count, arg);
			continue;
		}
		for (int r = 0; r < t->config.vocab_size; r++)
			if (t->row_dirty[r])
				fn(t, k, p->offset + r * h, h, arg);
	}
}

static void
add_squares(BertTrainer *t, int param, size_t offset, size_t count, void *arg)
{
	(void) param;
	*(double *) arg += sum_squares(t->grads + offset, count);
}

static void
scale_range(BertTrainer *t, int param, size_t offset, size_t count, void *arg)
{
	float		coef = *(float *) arg;
	float	   *g = t->grads + offset;

	(void) param;
	for (size_t i = 0; i < count; i++)
		g[i] *= coef;
}

/*
 * Scales every gradient by max_norm / (norm + 1e-6) when the global L2 norm
 * of all gradients exceeds max_norm (torch.nn.utils.clip_grad_norm_).
 * Returns the norm before clipping.  max_norm <= 0 turns clipping off.
 */
double
BertClipGradNorm(BertTrainer *t, double max_norm)
{
	double		sum = 0.0;
	double		norm;

	for_each_gradient(t, add_squares, &sum);
	norm = sqrt(sum);
	if (max_norm > 0.0 && max_norm / (norm + 1e-6) < 1.0)
	{
		float		coef = (float) (max_norm / (norm + 1e-6));

		for_each_gradient(t, scale_range, &coef);
	}
	return norm;
}

/* The scalars of one AdamW step. */
typedef struct AdamStep
{
	float		step_size;		/* lr / (1 - b1^t) */
	float		bc2_sqrt;		/* sqrt(1 - b2^t) */
	float		b1;
	float		b2;
	float		eps;
	float		decay;			/* 1 - lr * weight_decay */
} AdamStep;

/*
 * out (n) = sqrt(x) for x >= 0, exactly as sqrtf: SSE's sqrtps four at a
 * time on x86-64 (every x86-64 CPU has it).  A loop calling sqrtf does not
 * vectorise unless built with -fno-math-errno, since sqrtf may set errno.
 */
BERT_MULTIVERSION
static void
sqrt_block(float *restrict out, const float *restrict x, size_t n)
{
	size_t		i = 0;

#ifdef __SSE__
	for (; i + 4 <= n; i += 4)
		_mm_storeu_ps(out + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
	for (; i < n; i++)
		out[i] = sqrtf(x[i]);
}

#define ADAMW_BLOCK 512

/*
 * The AdamW update of n parameters (see BertAdamWUpdate), in blocks of
 * ADAMW_BLOCK: moments and decay, the square roots of v, the step; each
 * part a vector loop.
 */
BERT_MULTIVERSION
static void
adamw_range(float *restrict w, const float *restrict g, float *restrict m,
			float *restrict v, size_t n, const AdamStep *s, float decay)
{
	float		b1 = s->b1,
				b2 = s->b2,
				eps = s->eps,
				step_size = s->step_size,
				bc2_sqrt = s->bc2_sqrt;
	float		root[ADAMW_BLOCK];

	for (size_t first = 0; first < n; first += ADAMW_BLOCK)
	{
		size_t		k = Min((size_t) ADAMW_BLOCK, n - first);
		float	   *wb = w + first;
		const float *gb = g + first;
		float	   *mb = m + first;
		float	   *vb = v + first;

#pragma omp simd
		for (size_t i = 0; i < k; i++)
		{
			wb[i] *= decay;
			mb[i] += (gb[i] - mb[i]) * (1.0f - b1);
			vb[i] = vb[i] * b2 + (1.0f - b2) * gb[i] * gb[i];
		}
		sqrt_block(root, vb, k);
#pragma omp simd
		for (size_t i = 0; i < k; i++)
			wb[i] -= step_size * mb[i] / (root[i] / bc2_sqrt + eps);
	}
}

/*
 * One AdamW step at learning rate lr over every parameter, in the order of
 * torch.optim.AdamW (amsgrad off): p *= 1 - lr * weight_decay (tensors with
 * decay only); m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).  Every
 * element is updated, also those whose gradient is zero this step, as
 * PyTorch's dense update does; word-embedding rows that never had a
 * gradient have m = v = 0, so for them this is the decay alone.
 */
void
BertAdamWUpdate(BertTrainer *t, const BertAdamW *opt, double lr)
{
	int64_t		step = ++t->adam_steps;
	AdamStep	s;
	size_t		h = t->config.hidden_size;

	s.step_size = (float) (lr / (1.0 - pow(opt->beta1, (double) step)));
	s.bc2_sqrt = (float) sqrt(1.0 - pow(opt->beta2, (double) step));
	s.b1 = (float) opt->beta1;
	s.b2 = (float) opt->beta2;
	s.eps = (float) opt->eps;
	s.decay = (float) (1.0 - lr * opt->weight_decay);

	for (int k = 0; k < t->num_params; k++)
	{
		const BertParam *p = &t->param[k];
		float		decay = p->decay ? s.decay : 1.0f;

		if (k != t->word_param)
		{
			adamw_range(t->params + p->offset, t->grads + p->offset,
						t->adam_m + p->offset, t->adam_v + p->offset, p->count, &s, decay);
			continue;
		}
		for (int r = 0; r < t->config.vocab_size; r++)
		{
			size_t		off = p->offset + r * h;

			if (t->row_used[r])
				adamw_range(t->params + off, t->grads + off, t->adam_m + off,
							t->adam_v + off, h, &s, decay);
			else if (decay != 1.0f)
				for (size_t i = 0; i < h; i++)
					t->params[off + i] *= decay;
		}
	}
}
