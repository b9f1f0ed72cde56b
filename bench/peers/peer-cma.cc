// SPDX-License-Identifier: MIT
// cma-peers, libcma: nodes from cm_alloc in a file arena, native pointers.
#include <fcntl.h>
#include <sys/mman.h>
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

void link(struct cm_attr *mem, Node1 *n, Node1 *const *addr, const Plan &p,
	  size_t i)
{
	if (p.l0[i] != NONE && cm_ptr_to(mem, &n->l0, addr[p.l0[i]]))
		fail("cm_ptr_to");
}

void link(struct cm_attr *mem, Node2 *n, Node2 *const *addr, const Plan &p,
	  size_t i)
{
	if ((p.l0[i] != NONE && cm_ptr_to(mem, &n->l0, addr[p.l0[i]]))
	    || (p.l1[i] != NONE && cm_ptr_to(mem, &n->l1, addr[p.l1[i]])))
		fail("cm_ptr_to");
}

template <class N> Produced produce_as(const Plan &p, const std::string &path)
{
	Produced r;
	std::vector<N *> addr(p.n);	// node index -> address, for links
	Stopwatch sw;
	size_t links = p.two_links() ? 2 : 1;
	int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);

	if (fd < 0)
		fail(path);
	struct cm_attr *mem = cm_create(fd, p.n * (sizeof(N) + 8 * links)
					+ (4u << 20), MAP_SHARED, 0);
	if (!mem)
		fail("cm_create");
	for (size_t i = 0; i < p.n; i++) {
		if (cm_alloc(mem, &addr[i], sizeof(N)))
			fail("cm_alloc");
		addr[i]->x = (uint32_t)i;
		if (p.backward)	// links to earlier nodes: one pass
			link(mem, addr[i], addr.data(), p, i);
	}
	for (size_t i = 0; !p.backward && i < p.n; i++)
		link(mem, addr[i], addr.data(), p, i);
	r.build = sw.lap();
	sw.restart();
	if (!cm_serialize(mem, addr[p.root], CM_RELATIVE_OFFSET, 0))
		fail("cm_serialize");
	r.seal = sw.lap();
	r.bytes = (uint64_t)cm_get_size(mem);
	r.peak_rss = peak_rss();
	r.index_table = addr.size() * sizeof(addr[0]);
	sw.restart();
	if (cm_delete(mem, CM_ERASE) || close(fd))
		fail("cm_delete");
	r.write = sw.lap();
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
	return p.two_links() ? produce_as<Node2>(p, path)
			     : produce_as<Node1>(p, path);
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

} // namespace peers
