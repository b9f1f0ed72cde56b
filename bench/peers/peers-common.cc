// SPDX-License-Identifier: MIT
// cma-peers: the workloads' links, clocks, peak RSS and file helpers.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <stdexcept>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peers.h"

namespace peers {

namespace {

// splitmix64, a fixed seed: every process makes the same links.
struct Rng {
	uint64_t s;
	uint64_t next()
	{
		uint64_t z = (s += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		return z ^ (z >> 31);
	}
	uint32_t below(uint32_t n)
	{
		return (uint32_t)(((next() >> 32) * n) >> 32);
	}
};

const char *const names[] = { "list", "list-random", "tree", "graph" };

} // namespace

const char *workload_name(Workload wl)
{
	return names[(int)wl];
}

bool workload_from(const std::string &s, Workload *wl)
{
	for (int i = 0; i < 4; i++)
		if (s == names[i]) {
			*wl = (Workload)i;
			return true;
		}
	return false;
}

Plan make_plan(Workload wl, size_t n)
{
	Plan p;
	Rng r{ 0x0123456789abcdefULL };

	p.wl = wl;
	p.n = n;
	p.l0.assign(n, NONE);
	switch (wl) {
	case Workload::LIST_SEQ:	// each node links to the one before
		for (size_t i = 1; i < n; i++)
			p.l0[i] = (uint32_t)(i - 1);
		p.root = (uint32_t)(n - 1);
		p.backward = true;
		break;
	case Workload::LIST_RANDOM: {	// the list visits a permutation
		std::vector<uint32_t> order(n);

		for (size_t i = 0; i < n; i++)
			order[i] = (uint32_t)i;
		for (size_t i = n - 1; i > 0; i--)
			std::swap(order[i], order[r.below((uint32_t)(i + 1))]);
		for (size_t k = 0; k + 1 < n; k++)
			p.l0[order[k]] = order[k + 1];
		p.root = order[0];
		break;
	}
	case Workload::TREE:		// complete, breadth-first order
		p.l1.assign(n, NONE);
		for (size_t i = 0; i < n; i++) {
			if (2 * i + 1 < n)
				p.l0[i] = (uint32_t)(2 * i + 1);
			if (2 * i + 2 < n)
				p.l1[i] = (uint32_t)(2 * i + 2);
		}
		p.root = 0;
		break;
	case Workload::GRAPH:	// the node before (all reachable), a random one
		p.l1.assign(n, NONE);
		for (size_t i = 1; i < n; i++) {
			p.l0[i] = (uint32_t)(i - 1);
			p.l1[i] = r.below((uint32_t)i);
		}
		p.root = (uint32_t)(n - 1);
		p.backward = true;
		break;
	}
	return p;
}

uint64_t now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// VmHWM: this process's own peak since exec (ru_maxrss would carry the
// spawning parent's over execve).
uint64_t peak_rss()
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

void fail(const std::string &what)
{
	throw std::runtime_error(what + ": " + strerror(errno));
}

Mapped::Mapped(const std::string &path, bool writable)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		fail(path);
	size = (size_t)st.st_size;
	p = mmap(nullptr, size, PROT_READ | (writable ? PROT_WRITE : 0),
		 MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		fail(path + ": mmap");
}

Mapped::~Mapped()
{
	munmap(p, size);
}

void write_file(const std::string &path, const void *p, size_t n)
{
	int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);
	const char *c = static_cast<const char *>(p);
	size_t done = 0;

	if (fd < 0)
		fail(path);
	while (done < n) {
		ssize_t w = write(fd, c + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fail(path + ": write");
		done += (size_t)w;
	}
	if (close(fd))
		fail(path + ": close");
}

} // namespace peers
