// SPDX-License-Identifier: MIT
// cma-peers, Boost.Interprocess: offset_ptr links in a managed_mapped_file,
// one allocation a node (the segment grown as it fills) or one array.
#include <boost/interprocess/managed_mapped_file.hpp>
#include <boost/interprocess/offset_ptr.hpp>
#include <memory>
#include <stdexcept>
#include <type_traits>

#include "peers.h"

namespace bi = boost::interprocess;

namespace peers {

namespace {

struct Node1 {
	uint32_t x;
	bi::offset_ptr<Node1> l0;
};

struct Node2 {
	uint32_t x;
	bi::offset_ptr<Node2> l0, l1;
};

template <class N> struct Graph {
	bool none(const N *h) const { return !h; }
	uint32_t x(const N *h) const { return h->x; }
	const N *l0(const N *h) const { return h->l0.get(); }
	const N *l1(const N *h) const;
};

template <> const Node1 *Graph<Node1>::l1(const Node1 *) const
{
	return nullptr;
}

template <> const Node2 *Graph<Node2>::l1(const Node2 *h) const
{
	return h->l1.get();
}

using Segment = bi::managed_mapped_file;
using Handle = Segment::handle_t;

// Node i's links, the targets' addresses from their handles.
template <class N>
void link(Segment &seg, N *n, const std::vector<Handle> &h, const Plan &p,
	  size_t i)
{
	if (p.l0[i] != NONE)
		n->l0 = static_cast<N *>(seg.get_address_from_handle(
			h[p.l0[i]]));
	if constexpr (std::is_same_v<N, Node2>)
		if (p.l1[i] != NONE)
			n->l1 = static_cast<N *>(seg.get_address_from_handle(
				h[p.l1[i]]));
}

// The segment is fixed-size: unmap, grow() the file, map it again.
void grow(std::unique_ptr<Segment> &seg, const std::string &path,
	  size_t *size)
{
	seg.reset();
	if (!Segment::grow(path.c_str(), *size))
		throw std::runtime_error(path + ": managed_mapped_file::grow");
	*size *= 2;
	seg = std::make_unique<Segment>(bi::open_only, path.c_str());
}

// Write (flush, unmap) and seal: the segment's free tail need not be
// shipped, so it is cut off the closed file.
void finish(std::unique_ptr<Segment> &seg, const std::string &path,
	    Produced *r)
{
	Stopwatch sw;

	seg->flush();
	seg.reset();
	r->write = sw.lap();
	sw.restart();
	if (!Segment::shrink_to_fit(path.c_str()))
		throw std::runtime_error(path + ": shrink_to_fit");
	r->seal = sw.lap();
}

template <class N>
Produced produce_nodes(const Plan &p, const std::string &path)
{
	Produced r;
	std::vector<Handle> h(p.n);
	Stopwatch sw;
	size_t size = 64u << 20;
	auto seg = std::make_unique<Segment>(bi::create_only, path.c_str(),
					     size);

	seg->construct<bi::offset_ptr<N>>("root")(nullptr);
	for (size_t i = 0; i < p.n; i++) {
		void *m = seg->allocate(sizeof(N), std::nothrow);

		if (!m) {
			grow(seg, path, &size);
			i--;
			continue;
		}
		N *n = new (m) N();

		n->x = (uint32_t)i;

		h[i] = seg->get_handle_from_address(n);
		if (p.backward)
			link(*seg, n, h, p, i);
	}
	for (size_t i = 0; !p.backward && i < p.n; i++)
		link(*seg, static_cast<N *>(seg->get_address_from_handle(h[i])),
		     h, p, i);
	*seg->find<bi::offset_ptr<N>>("root").first =
		static_cast<N *>(seg->get_address_from_handle(h[p.root]));
	r.build = sw.lap();
	r.peak_rss = peak_rss();
	r.index_table = h.size() * sizeof(h[0]);
	finish(seg, path, &r);
	return r;
}

template <class N>
Produced produce_array(const Plan &p, const std::string &path)
{
	Produced r;
	Stopwatch sw;
	auto seg = std::make_unique<Segment>(bi::create_only, path.c_str(),
					     p.n * sizeof(N) + (1u << 20));
	N *a = seg->construct<N>("nodes")[p.n]();

	for (size_t i = 0; i < p.n; i++) {
		a[i].x = (uint32_t)i;
		if (p.l0[i] != NONE)
			a[i].l0 = &a[p.l0[i]];
		if constexpr (std::is_same_v<N, Node2>)
			if (p.l1[i] != NONE)
				a[i].l1 = &a[p.l1[i]];
	}
	seg->construct<bi::offset_ptr<N>>("root")(&a[p.root]);
	r.build = sw.lap();
	r.peak_rss = peak_rss();
	finish(seg, path, &r);
	return r;
}

template <class N> Consumed consume_as(const Plan &p, const std::string &path)
{
	Consumed r;
	Stopwatch sw;
	Segment seg(bi::open_read_only, path.c_str());
	auto root = seg.find<bi::offset_ptr<N>>("root").first;

	if (!root)
		throw std::runtime_error(path + ": no root");
	const N *first = root->get();

	r.open = sw.lap();
	sw.restart();
	r.sum = walk(p, Graph<N>{}, first);
	r.walk = sw.lap();
	r.peak_rss = peak_rss();
	return r;
}

// The file's size, for the table.
uint64_t file_size(const std::string &path)
{
	Mapped m(path);

	return m.size;
}

Produced produce_node(const Plan &p, const std::string &path)
{
	Produced r = p.two_links() ? produce_nodes<Node2>(p, path)
				   : produce_nodes<Node1>(p, path);

	r.bytes = file_size(path);
	return r;
}

Produced produce_arr(const Plan &p, const std::string &path)
{
	Produced r = p.two_links() ? produce_array<Node2>(p, path)
				   : produce_array<Node1>(p, path);

	r.bytes = file_size(path);
	return r;
}

Consumed consume(const Plan &p, const std::string &path)
{
	return p.two_links() ? consume_as<Node2>(p, path)
			     : consume_as<Node1>(p, path);
}

} // namespace

const System boost_node_system = { "boost-node", produce_node, consume };
const System boost_array_system = { "boost-array", produce_arr, consume };

} // namespace peers
