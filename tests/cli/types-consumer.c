/* SPDX-License-Identifier: MIT */
/*
 * The consumer's side of the original cma's (github.com/Aurel-R/cma)
 * layout warning, built with -g by cli-types.py: -DNAME=data_cli or
 * -DNAME=data names the struct, -DWRONG swaps 's' and 'next' as the
 * original's WRONG struct data_cli does; -DSECOND makes it a second unit.
 * Only its DWARF is read.
 */
#ifdef WRONG
struct NAME {
	int x;
	struct NAME *next;
	char *s;
};
#else
struct NAME {
	int x;
	char *s;
	struct NAME *next;
};
#endif

#ifdef SECOND
/* A second unit of the same program (-DSECOND): one C name, its own
 * layout, as C allows. */
struct NAME *second_head;
#else
struct NAME *consumer_head;

int main(void)
{
	return consumer_head != 0;
}
#endif
