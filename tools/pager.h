/* SPDX-License-Identifier: MIT */
/* cma-dump --pager: standard output through $PAGER when it is a terminal. */
#ifndef PAGER_H
#define PAGER_H

/*
 * When standard output is a terminal, run $PAGER (unset or empty: "less
 * -R"; LESS=FRX when LESS is unset, so output that fits one screen is just
 * printed) on a pipe that becomes standard output; the pager is waited for
 * at exit. Elsewhere (a file, a pipe) nothing changes. A pager that cannot
 * be started leaves standard output as it was, with a note on stderr.
 */
void pager_start(void);

#endif /* PAGER_H */
