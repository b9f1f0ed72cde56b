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

// The plan file: this header, then l0[n] and, for two links, l1[n].
struct PlanHeader {
	char magic[8];
	uint32_t wl, root;
	uint64_t n;
};

const char plan_magic[8] = { 'c', 'm', 'a', 'p', 'l', 'a', 'n', '1' };

bool has_two_links(Workload wl)
{
	return wl == Workload::TREE || wl == Workload::GRAPH;
}

void Plan::make(Workload wl, size_t n, const std::string &path)
{
	Rng r{ 0x0123456789abcdefULL };
	std::vector<uint32_t> l0(n, NONE), l1(has_two_links(wl) ? n : 0, NONE);
	uint32_t root = NONE;

	switch (wl) {
	case Workload::LIST_SEQ:	// each node links to the one before
		for (size_t i = 1; i < n; i++)
			l0[i] = (uint32_t)(i - 1);
		root = (uint32_t)(n - 1);
		break;
	case Workload::LIST_RANDOM: {	// the list visits a permutation
		std::vector<uint32_t> order(n);

		for (size_t i = 0; i < n; i++)
			order[i] = (uint32_t)i;
		for (size_t i = n - 1; i > 0; i--)
			std::swap(order[i], order[r.below((uint32_t)(i + 1))]);
		for (size_t k = 0; k + 1 < n; k++)
			l0[order[k]] = order[k + 1];
		root = order[0];
		break;
	}
	case Workload::TREE:		// complete, breadth-first order
		for (size_t i = 0; i < n; i++) {
			if (2 * i + 1 < n)
				l0[i] = (uint32_t)(2 * i + 1);
			if (2 * i + 2 < n)
				l1[i] = (uint32_t)(2 * i + 2);
		}
		root = 0;
		break;
	case Workload::GRAPH:	// the node before (all reachable), a random one
		for (size_t i = 1; i < n; i++) {
			l0[i] = (uint32_t)(i - 1);
			l1[i] = r.below((uint32_t)i);
		}
		root = (uint32_t)(n - 1);
		break;
	}
	PlanHeader h{ {}, (uint32_t)wl, root, n };
	std::string bytes(sizeof(h), '\0');

	memcpy(h.magic, plan_magic, sizeof(h.magic));
	memcpy(&bytes[0], &h, sizeof(h));
	bytes.append(reinterpret_cast<const char *>(l0.data()), n * 4);
	bytes.append(reinterpret_cast<const char *>(l1.data()), l1.size() * 4);
	write_file(path, bytes.data(), bytes.size());
}

Plan::Plan(const std::string &path) : file(path)
{
	PlanHeader h;

	if (file.size < sizeof(h))
		throw std::runtime_error(path + ": not a plan file");
	memcpy(&h, file.p, sizeof(h));
	const size_t links = has_two_links((Workload)h.wl) ? 2 : 1;

	if (memcmp(h.magic, plan_magic, sizeof(h.magic)) || h.wl > 3
	    || h.n < 2 || file.size != sizeof(h) + h.n * 4 * links)
		throw std::runtime_error(path + ": not a plan file");
	wl = (Workload)h.wl;
	n = (size_t)h.n;
	root = h.root;
	l0 = reinterpret_cast<const uint32_t *>(
		static_cast<const char *>(file.p) + sizeof(h));
	if (links == 2)
		l1 = l0 + n;
	backward = wl == Workload::LIST_SEQ || wl == Workload::GRAPH;
}

namespace {

// The plan's own links, walked by index.
struct PlanGraph {
	const Plan &p;
	bool none(uint32_t h) const { return h == NONE; }
	uint32_t x(uint32_t h) const { return h; }
	uint32_t l0(uint32_t h) const { return p.l0[h]; }
	uint32_t l1(uint32_t h) const { return p.l1 ? p.l1[h] : NONE; }
};

} // namespace

uint64_t expected_sum(const Plan &p)
{
	return walk(p, PlanGraph{ p }, p.root);
}

namespace {

uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

Span now()
{
	return Span{ clock_ns(CLOCK_MONOTONIC),
		     clock_ns(CLOCK_PROCESS_CPUTIME_ID) };
}

} // namespace

void Stopwatch::restart()
{
	start = now();
}

Span Stopwatch::lap() const
{
	Span t = now();

	return Span{ t.wall - start.wall, t.cpu - start.cpu };
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

Mapped::Mapped(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		fail(path);
	if (fstat(fd, &st)) {
		const int e = errno;

		close(fd);
		errno = e;
		fail(path);
	}
	if (st.st_size == 0) {
		close(fd);
		throw std::runtime_error(path + ": empty file");
	}
	size = (size_t)st.st_size;
	p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
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
