# bert: BERT-family encoders inside PostgreSQL (PGXS)

PG_CONFIG ?= pg_config

EXTENSION = bert
MODULE_big = bert
OBJS = \
	src/batch_exec.o \
	src/batch_funcs.o \
	src/batch_plan.o \
	src/bert.o \
	src/blas.o \
	src/config.o \
	src/decoder.o \
	src/encoder.o \
	src/gemm_plan.o \
	src/guc.o \
	src/heads.o \
	src/json.o \
	src/model.o \
	src/model_cache.o \
	src/model_path.o \
	src/model_write.o \
	src/nn_ops.o \
	src/optim.o \
	src/retrieval.o \
	src/safetensors.o \
	src/sigbus_guard.o \
	src/sql_arrays.o \
	src/sql_common.o \
	src/sql_encoder.o \
	src/sql_pairs.o \
	src/sql_pipelines.o \
	src/tokenizer.o \
	src/train.o \
	src/train_data.o \
	src/train_ops.o \
	src/train_params.o \
	src/train_sql.o \
	src/weight_cache.o \
	src/weights.o

DATA = bert--1.0.sql bert--1.0--1.1.sql
REGRESS = setup tokenizer embed sentiment pipelines lookups settings errors volatility pairs batching train cache
REGRESS_OPTS = --load-extension=bert

PG_CFLAGS = -O3 -fopenmp-simd -Wall -Wextra
# server headers as system headers: -Wextra then reports our code only
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server)
# OpenBLAS is opened with dlopen() at first use (see src/blas.c): no -lopenblas
SHLIB_LINK = -lutf8proc -ldl -lm


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# standalone test programs (test/unit/train_check, data_check, encoder_check)
include test/unit/standalone.mk
