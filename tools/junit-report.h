/* SPDX-License-Identifier: MIT */
/* cma-verify --junit: a JUnit XML report, one test case a blob. */
#ifndef JUNIT_REPORT_H
#define JUNIT_REPORT_H

#include <stddef.h>

#include "cma.h"

struct junit_report;

/* An empty report for the suite `name`. @return NULL with errno. */
struct junit_report *junit_new(const char *name);

/* Start the test case of one input, named as messages name it. */
void junit_case_begin(struct junit_report *r, const char *file);

/* One defect of the current case (a failure). */
void junit_case_defect(struct junit_report *r, const struct cm_error *err);

/*
 * A defect described by text alone (typed checks: `count` defects that
 * were printed, not handed over).
 */
void junit_case_note(struct junit_report *r, const char *text);

/*
 * End the current case with the tool's status for it: 0 passed, 3 an
 * error (`io_error` says why), else a failure made of its defects.
 */
void junit_case_end(struct junit_report *r, int status,
		    const char *io_error);

/*
 * Write the report to `path` ("-": standard output), replacing a file
 * atomically: on failure no partial file is left.
 * @return 0; -1 with errno (also when the report ran out of memory).
 */
int junit_write(struct junit_report *r, const char *path);

void junit_free(struct junit_report *r);

#endif /* JUNIT_REPORT_H */
