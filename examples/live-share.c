/* SPDX-License-Identifier: MIT */
/*
 * Two processes update one list in place, in a shared-memory arena, under a
 * process-shared mutex that lives in the arena itself. The creator builds
 * the list and records every link field; the other process attaches at the
 * same address with cm_attach(), so pointers mean the same thing to both
 * and nothing is ever relocated. At the end the creator seals the arena
 * into a blob and checks that it holds both processes' work, pointer
 * stores from the attached side included.
 *
 * Usage: live-share [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cma.h"

#define COUNTERS 8

struct counter {
	struct counter *next;
	uint64_t hits;
	uint64_t by[2];		/* hits per process */
};

struct board {
	pthread_mutex_t lock;	/* guards everything below */
	struct counter *first;
	struct counter *busiest;	/* either process may repoint it */
	uint64_t updates;
};

/* Both sides: hit counter (round * 3 + who) % COUNTERS, `rounds` times. */
static void play(struct board *bd, int who, unsigned rounds)
{
	for (unsigned r = 0; r < rounds; r++) {
		struct counter *c = bd->first;

		pthread_mutex_lock(&bd->lock);
		for (unsigned i = (r * 3 + who) % COUNTERS; i; i--)
			c = c->next;
		c->hits++;
		c->by[who]++;
		/* A plain pointer store, valid in both processes. */
		if (!bd->busiest || c->hits > bd->busiest->hits)
			bd->busiest = c;
		bd->updates++;
		pthread_mutex_unlock(&bd->lock);
	}
}

/* The attached process: wait for the board's offset, play, detach. */
static int guest(const char *name, int from_host, unsigned rounds)
{
	struct cm_attr *mem;
	struct board *bd;
	uint64_t offset;
	void *probe;
	int fd;

	if (read(from_host, &offset, sizeof offset) != sizeof offset)
		return 1;
	fd = shm_open(name, O_RDWR, 0);
	if (fd < 0) {
		perror("guest: shm_open");
		return 1;
	}
	mem = cm_attach(fd, 0);
	close(fd);
	if (!mem) {
		perror("guest: cm_attach");
		return 1;
	}
	/* Allocation stays with the creator. */
	if (cm_alloc(mem, &probe, 16) == 0 || errno != EPERM) {
		fprintf(stderr, "guest: cm_alloc should fail with EPERM\n");
		return 1;
	}
	bd = (struct board *)((char *)cm_get_base(mem) + offset);
	play(bd, 1, rounds);
	cm_delete(mem, CM_ERASE);
	return 0;
}

static int build(struct cm_attr *mem, struct board **out)
{
	pthread_mutexattr_t attr;
	struct counter **link;
	struct board *bd;

	if (cm_alloc(mem, &bd, sizeof *bd) < 0)
		return -1;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&bd->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	/*
	 * Only the creator records slots: every link field either side may
	 * store to is recorded now, NULL for the time being.
	 */
	if (cm_ptr_to(mem, &bd->busiest, NULL) < 0)
		return -1;
	link = &bd->first;
	for (int i = 0; i < COUNTERS; i++) {
		if (cm_alloc(mem, link, sizeof **link) < 0 ||
		    cm_ptr_to(mem, &(*link)->next, NULL) < 0)
			return -1;
		link = &(*link)->next;
	}
	*out = bd;
	return 0;
}

/* Check the sealed blob, relocated into a copy of our own. */
static int verify(const void *blob, size_t len, unsigned rounds)
{
	uint64_t by[2] = { 0, 0 }, hits = 0, most = 0;
	const struct counter *c;
	const struct board *bd;
	void *copy = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	int ok;

	if (!copy)
		return -1;
	memcpy(copy, blob, len);
	bd = cm_deserialize(copy, len);
	if (!bd) {
		perror("cm_deserialize");
		free(copy);
		return -1;
	}
	for (c = bd->first; c; c = c->next) {
		printf("counter: %llu hits (%llu + %llu)\n",
		       (unsigned long long)c->hits,
		       (unsigned long long)c->by[0],
		       (unsigned long long)c->by[1]);
		hits += c->hits;
		by[0] += c->by[0];
		by[1] += c->by[1];
		if (c->hits > most)
			most = c->hits;
	}
	printf("updates: %llu, busiest: %llu hits\n",
	       (unsigned long long)bd->updates,
	       bd->busiest ? (unsigned long long)bd->busiest->hits : 0ULL);
	ok = hits == 2ULL * rounds && bd->updates == hits &&
	     by[0] == rounds && by[1] == rounds &&
	     bd->busiest && bd->busiest->hits == most;
	free(copy);
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) :
				     100000;
	struct cm_attr *mem = NULL;
	struct board *bd;
	char name[64];
	int to_guest[2], fd = -1, status = EXIT_FAILURE, wstatus;
	uint64_t offset;
	void *blob;
	pid_t pid;

	/* Our own name: parallel runs must not meet in /dev/shm. */
	snprintf(name, sizeof name, "/cma-live-share-%ld", (long)getpid());
	if (pipe(to_guest) < 0) {
		perror("pipe");
		return EXIT_FAILURE;
	}
	/*
	 * Fork before the arena exists: a child forked later would inherit
	 * the mapping, and attaching is what this example shows.
	 */
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return EXIT_FAILURE;
	}
	if (pid == 0) {
		close(to_guest[1]);
		_exit(guest(name, to_guest[0], rounds));
	}
	close(to_guest[0]);

	fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
	if (fd < 0) {
		perror("shm_open");
		goto out;
	}
	/*
	 * Any address will do: the guest, forked before it was chosen, has
	 * it free. Unrelated processes would add CM_FIXED_BASE for better odds.
	 */
	mem = cm_create(fd, 1 << 20, MAP_SHARED, 0);
	if (!mem || build(mem, &bd) < 0) {
		perror("cm_create");
		goto out;
	}
	offset = (uint64_t)((char *)bd - (char *)cm_get_base(mem));
	if (write(to_guest[1], &offset, sizeof offset) != sizeof offset) {
		perror("write");
		goto out;
	}
	play(bd, 0, rounds);
	close(to_guest[1]);
	to_guest[1] = -1;
	if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus) ||
	    WEXITSTATUS(wstatus) != 0) {
		fprintf(stderr, "the attached process failed\n");
		pid = -1;
		goto out;
	}
	pid = -1;
	blob = cm_serialize(mem, bd, CM_RELATIVE_OFFSET, 0);
	if (!blob) {
		perror("cm_serialize");
		goto out;
	}
	if (verify(blob, (size_t)cm_get_size(mem), rounds) < 0) {
		fprintf(stderr, "the totals do not add up\n");
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	if (to_guest[1] >= 0)
		close(to_guest[1]);
	/* On early failure the guest sees EOF on the pipe and gives up. */
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (mem)
		cm_delete(mem, CM_ERASE);
	if (fd >= 0) {
		close(fd);
		shm_unlink(name);
	}
	return status;
}
