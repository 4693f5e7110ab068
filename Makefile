# bert: BERT-family encoders inside PostgreSQL (PGXS)

PG_CONFIG ?= pg_config

EXTENSION = bert
MODULE_big = bert
OBJS = \
	src/bert.o \
	src/blas.o \
	src/config.o \
	src/decoder.o \
	src/encoder.o \
	src/gemm_plan.o \
	src/guc.o \
	src/heads.o \
	src/json.o \
	src/mapping.o \
	src/model.o \
	src/model_cache.o \
	src/pipelines.o \
	src/safetensors.o \
	src/tokenizer.o \
	src/weight_cache.o

DATA = bert--1.0.sql bert--1.0--1.1.sql
REGRESS = setup tokenizer embed sentiment pipelines settings errors cache
REGRESS_OPTS = --load-extension=bert

PG_CFLAGS = -O3 -fopenmp-simd -Wall -Wextra
# server headers as system headers: -Wextra then reports our code only
PG_CPPFLAGS = -isystem $(shell $(PG_CONFIG) --includedir-server)
# OpenBLAS is opened with dlopen() at first use (see src/blas.c): no -lopenblas
SHLIB_LINK = -lutf8proc -ldl -lm


PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
