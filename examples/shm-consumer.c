/* SPDX-License-Identifier: MIT */
/*
 * Open the blob shm-producer left in shared memory, wherever the kernel
 * maps it, relocate a private copy and print what it holds.
 *
 * Usage: shm-consumer NAME
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cma.h"
#include "shm-example.h"

int main(int argc, char **argv)
{
	const struct catalog *c;
	struct stat st;
	void *blob = MAP_FAILED;
	int fd, status = EXIT_FAILURE;

	if (argc != 2) {
		fprintf(stderr, "usage: %s NAME\n", argv[0]);
		return 2;
	}
	fd = shm_open(argv[1], O_RDONLY, 0);
	if (fd < 0) {
		perror("shm_open");
		return EXIT_FAILURE;
	}
	if (fstat(fd, &st) < 0) {
		perror("fstat");
		goto out;
	}
	/*
	 * Private and writable: relocation writes the pointers of our copy
	 * only; the shared object stays as the producer sealed it.
	 */
	blob = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE, fd, 0);
	if (blob == MAP_FAILED) {
		perror("mmap");
		goto out;
	}
	c = cm_deserialize(blob, (size_t)st.st_size);
	if (!c) {
		perror("cm_deserialize");
		goto out;
	}
	print_catalog(c);
	status = EXIT_SUCCESS;
out:
	if (blob != MAP_FAILED)
		munmap(blob, (size_t)st.st_size);
	close(fd);
	shm_unlink(argv[1]);
	return status;
}
