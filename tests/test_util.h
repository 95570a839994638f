/* Shared test helpers: the fixture input hash, fixture loading and the one tensor comparison
 * that all tests use. Include after <cmocka.h>'s prerequisites. */
#ifndef SWIN_TEST_UTIL_H
#define SWIN_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Tolerance on whole-model and layer outputs: max |ours - ref| <= TOL * max(1, max |ref|).
 * float32 noise is about 1e-6 here; 1e-4 would hide bugs. */
#define SWIN_TEST_TOL 1e-5

/* Fixture directory, set by CMake. */
#ifndef SWIN_FIXTURE_DIR
#error "SWIN_FIXTURE_DIR must be defined"
#endif

/* Input element i of case seed s (tests/fixtures/README.md). */
float swin_test_input_value(uint32_t i, uint32_t seed);
void swin_test_input(float *x, size_t n, uint32_t seed);

/* Full path of a fixture file (thread-local buffer, valid until the next call in the thread). */
const char *swin_test_fixture(const char *name);

/* The shell words that run the built program path: "'path'", after the emulator's words when
 * the tests run under one (SWIN_TEST_EMULATOR, set by tests/CMakeLists.txt when
 * cross-compiling; the host cannot run the program itself). Thread-local buffer, valid until
 * the next call in the thread. */
const char *swin_test_program(const char *path);

/* Opens a fixture safetensors file; fails the test if it cannot. */
void swin_test_open(swin_safetensors *st, const char *name);
/* A float tensor of a fixture; fails the test when missing. *numel receives its size. */
const float *swin_test_get(const swin_safetensors *st, const char *name, size_t *numel);

/* The bytes of a fixture safetensors file with one more F32 tensor of shape [1] named name
 * (malloc'ed, *size set); fails the test when it cannot. */
unsigned char *swin_test_with_tensor(const char *fixture, const char *name, size_t *size);

/* Compares got with ref: prints the worst element, its index, max abs and rel error; returns
 * whether max |got - ref| <= tol * max(1, max |ref|). */
bool swin_test_check(const char *label, const float *got, const float *ref, size_t n, double tol);

/* Checks output (kind, index) of ctx against exp's tensor key (label: the case). */
void swin_test_check_output(swin_context *ctx, swin_output kind, int index,
                            const swin_safetensors *exp, const char *key, const char *label);
/* Runs m on the input hash [B, 3, S, S] of seed and checks logits, features and the token map
 * against exp's "logits<suffix>", "features<suffix>" and "tokens<suffix>" (else
 * "last_hidden_state<suffix>"); without a logits key the model has no head and says so.
 * Returns the context for more checks (*x: its input); the caller frees both. */
swin_context *swin_test_run_outputs(swin_model *m, const swin_safetensors *exp, const char *label,
                                    int64_t B, int64_t S, uint32_t seed, const char *suffix,
                                    swin_tensor **x);

/* Loads the fixture model `dir` (a hub folder under the fixtures; fails the test with the
 * message when it cannot), checks that it reads as naming `naming` and that each of the n
 * settings config[k] = {key, value} resolves to that value (a NULL key ends them early). */
swin_model *swin_test_load_checked(const char *dir, const char *naming,
                                   const char *const config[][2], int n);

/* Runs a cmocka group once per kernel path this CPU has, best first (src/kernels/: AVX-512,
 * AVX2, NEON, scalar), so the suites that compare with references check every path; with
 * SWIN_ISA set, once, on that path. Returns the number of failed tests over all runs. */
#define swin_test_run_each_isa(tests, setup, teardown)                                             \
    swin_test_each_isa(#tests, tests, sizeof(tests) / sizeof((tests)[0]), setup, teardown)
int swin_test_each_isa(const char *name, const struct CMUnitTest *tests, size_t n,
                       CMFixtureFunction setup, CMFixtureFunction teardown);

/* A fresh directory /tmp/swin_<tag>_XXXXXX, its path in buf (cap bytes); false when it cannot
 * be made. */
bool swin_test_mkdtemp(char *buf, size_t cap, const char *tag);
/* Removes dir and everything under it (links removed, not followed); false on any failure. */
bool swin_test_rmtree(const char *dir);

/* check + cmocka failure. */
#define SWIN_CHECK(label, got, ref, n)                                                             \
    assert_true(swin_test_check((label), (got), (ref), (n), SWIN_TEST_TOL))

#endif
