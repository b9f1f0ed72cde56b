// SPDX-License-Identifier: MIT
// cma-peers, the raw baseline: a plain mmap'd array of nodes linked by index.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "peers.h"

namespace peers {

namespace {

struct Node1 {
	uint32_t x, l0;
};

struct Node2 {
	uint32_t x, l0, l1;
};

template <class N> struct Graph {
	const N *a;
	bool none(uint32_t h) const { return h == NONE; }
	uint32_t x(uint32_t h) const { return a[h].x; }
	uint32_t l0(uint32_t h) const { return a[h].l0; }
	uint32_t l1(uint32_t h) const;
};

template <> uint32_t Graph<Node1>::l1(uint32_t) const { return NONE; }
template <> uint32_t Graph<Node2>::l1(uint32_t h) const { return a[h].l1; }

template <class N> void fill(N *a, const Plan &p);

template <> void fill(Node1 *a, const Plan &p)
{
	for (size_t i = 0; i < p.n; i++)
		a[i] = Node1{ (uint32_t)i, p.l0[i] };
}

template <> void fill(Node2 *a, const Plan &p)
{
	for (size_t i = 0; i < p.n; i++)
		a[i] = Node2{ (uint32_t)i, p.l0[i], p.l1[i] };
}

template <class N> Produced produce_as(const Plan &p, const std::string &path)
{
	Produced r;
	Stopwatch sw;
	size_t size = p.n * sizeof(N);
	int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);

	if (fd < 0 || ftruncate(fd, (off_t)size))
		fail(path);
	void *m = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);
	if (m == MAP_FAILED)
		fail(path + ": mmap");
	fill(static_cast<N *>(m), p);
	r.build = sw.lap();
	r.peak_rss = peak_rss();
	sw.restart();
	munmap(m, size);
	close(fd);
	r.write = sw.lap();
	r.bytes = size;
	return r;
}

template <class N> Consumed consume_as(const Plan &p, const std::string &path)
{
	Consumed r;
	Stopwatch sw;
	Mapped m(path);
	Graph<N> g{ static_cast<const N *>(m.p) };

	r.open = sw.lap();
	sw.restart();
	r.sum = walk(p, g, p.root);
	r.walk = sw.lap();
	r.peak_rss = peak_rss();
	return r;
}

Produced produce(const Plan &p, const std::string &path)
{
	return p.two_links() ? produce_as<Node2>(p, path)
			     : produce_as<Node1>(p, path);
}

Consumed consume(const Plan &p, const std::string &path)
{
	return p.two_links() ? consume_as<Node2>(p, path)
			     : consume_as<Node1>(p, path);
}

} // namespace

const System raw_system = { "raw", produce, consume };

} // namespace peers
