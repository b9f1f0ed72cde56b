// SPDX-License-Identifier: MIT
// cma-peers, libcma: nodes from cm_alloc in a file arena, native pointers.
#include <algorithm>
#include <fcntl.h>
#include <sys/mman.h>
#include <type_traits>
#include <unistd.h>

#include "cma.h"
#include "peers.h"

namespace peers {

namespace {

struct Node1 {
	uint32_t x;
	Node1 *l0;
};

struct Node2 {
	uint32_t x;
	Node2 *l0, *l1;
};

template <class N> struct Graph {
	bool none(const N *h) const { return !h; }
	uint32_t x(const N *h) const { return h->x; }
	const N *l0(const N *h) const { return h->l0; }
	const N *l1(const N *h) const;
};

template <> const Node1 *Graph<Node1>::l1(const Node1 *) const
{
	return nullptr;
}

template <> const Node2 *Graph<Node2>::l1(const Node2 *h) const
{
	return h->l1;
}

// Node i's links; at(j) is node j's address.
template <class N, class At>
void link(struct cm_attr *mem, N *n, At at, const Plan &p, size_t i)
{
	if (p.l0[i] != NONE && cm_ptr_to(mem, &n->l0, at(p.l0[i])))
		fail("cm_ptr_to");
	if constexpr (std::is_same_v<N, Node2>)
		if (p.l1[i] != NONE && cm_ptr_to(mem, &n->l1, at(p.l1[i])))
			fail("cm_ptr_to");
}

// An arena on a new file, with room for n nodes and their table.
template <class N>
struct cm_attr *create(const Plan &p, const std::string &path, int *fd)
{
	const size_t links = p.two_links() ? 2 : 1;
	struct cm_attr *mem;

	*fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (*fd < 0)
		fail(path);
	mem = cm_create(*fd, p.n * (sizeof(N) + 8 * links) + (4u << 20),
			MAP_SHARED, 0);
	if (!mem)
		fail("cm_create");
	return mem;
}

// Seal (relative mode) and close: the blob is the file.
void finish(struct cm_attr *mem, int fd, void *root, Produced *r)
{
	Stopwatch sw;

	if (!cm_serialize(mem, root, CM_RELATIVE_OFFSET, 0))
		fail("cm_serialize");
	r->seal = sw.lap();
	r->bytes = (uint64_t)cm_get_size(mem);
	r->peak_rss = std::max(r->peak_rss, peak_rss());
	sw.restart();
	if (cm_delete(mem, CM_ERASE) || close(fd))
		fail("cm_delete");
	r->write = sw.lap();
}

// One cm_alloc a node; links need each node's address, kept by index.
template <class N>
Produced produce_nodes(const Plan &p, const std::string &path)
{
	Produced r;
	std::vector<N *> addr(p.n);
	auto at = [&addr](uint32_t j) { return addr[j]; };
	Stopwatch sw;
	int fd;
	struct cm_attr *mem = create<N>(p, path, &fd);

	for (size_t i = 0; i < p.n; i++) {
		if (cm_alloc(mem, &addr[i], sizeof(N)))
			fail("cm_alloc");
		addr[i]->x = (uint32_t)i;
		if (p.backward)	// links to earlier nodes: one pass
			link(mem, addr[i], at, p, i);
	}
	for (size_t i = 0; !p.backward && i < p.n; i++)
		link(mem, addr[i], at, p, i);
	r.build = sw.lap();
	r.peak_rss = peak_rss();
	r.index_table = addr.size() * sizeof(addr[0]);
	finish(mem, fd, addr[p.root], &r);
	return r;
}

// One cm_alloc for every node: node j is at a + j, no table needed.
template <class N>
Produced produce_array(const Plan &p, const std::string &path)
{
	Produced r;
	Stopwatch sw;
	int fd;
	struct cm_attr *mem = create<N>(p, path, &fd);
	N *a;

	if (cm_alloc(mem, &a, p.n * sizeof(N)))
		fail("cm_alloc");
	auto at = [a](uint32_t j) { return a + j; };

	for (size_t i = 0; i < p.n; i++) {
		a[i].x = (uint32_t)i;
		link(mem, a + i, at, p, i);
	}
	r.build = sw.lap();
	r.peak_rss = peak_rss();
	finish(mem, fd, a + p.root, &r);
	return r;
}

template <class N>
Consumed consume_as(const Plan &p, const std::string &path, int flags)
{
	Consumed r;
	Stopwatch sw;
	struct cm_blob *b = cm_open(path.c_str(), flags);

	if (!b)
		fail(path + ": cm_open");
	const N *root = static_cast<const N *>(cm_blob_root(b));
	r.open = sw.lap();
	r.relocated = cm_blob_relocated(b);
	sw.restart();
	r.sum = walk(p, Graph<N>{}, root);
	r.walk = sw.lap();
	r.peak_rss = peak_rss();
	cm_close(b);
	return r;
}

Produced produce(const Plan &p, const std::string &path)
{
	return p.two_links() ? produce_nodes<Node2>(p, path)
			     : produce_nodes<Node1>(p, path);
}

Produced produce_arr(const Plan &p, const std::string &path)
{
	return p.two_links() ? produce_array<Node2>(p, path)
			     : produce_array<Node1>(p, path);
}

template <int flags> Consumed consume(const Plan &p, const std::string &path)
{
	return p.two_links() ? consume_as<Node2>(p, path, flags)
			     : consume_as<Node1>(p, path, flags);
}

} // namespace

// Checked, as for a file from elsewhere; trusted, the check skipped.
const System cma_system = { "libcma", produce, consume<0> };
const System cma_trusted_system = { "libcma-trusted", produce,
				    consume<CM_OPEN_TRUSTED> };
// The nodes in one allocation, as boost-array; opened checked.
const System cma_array_system = { "libcma-array", produce_arr, consume<0> };

} // namespace peers
