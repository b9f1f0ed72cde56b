// SPDX-License-Identifier: MIT
// cma-peers, FlatBuffers: a vector of fixed-size structs linked by index,
// filled in place in the builder, verified before the walk.
#include <flatbuffers/flatbuffers.h>
#include <stdexcept>

#include "nodes_generated.h"
#include "peers.h"

namespace peers {

namespace {

template <class N> struct Graph {
	const flatbuffers::Vector<const N *> *v;
	bool none(uint32_t h) const { return h == NONE; }
	uint32_t x(uint32_t h) const { return v->Get(h)->x(); }
	uint32_t l0(uint32_t h) const { return v->Get(h)->l0(); }
	uint32_t l1(uint32_t h) const;
};

template <> uint32_t Graph<fb::Node1>::l1(uint32_t) const { return NONE; }
template <> uint32_t Graph<fb::Node2>::l1(uint32_t h) const
{
	return v->Get(h)->l1();
}

Produced produce(const Plan &p, const std::string &path)
{
	Produced r;
	const size_t size = p.n * (p.two_links() ? sizeof(fb::Node2)
					       : sizeof(fb::Node1)) + 4096;

	// The builder's own check of this limit is an assert, gone under
	// NDEBUG: past it, offsets would wrap silently.
	if (size >= FLATBUFFERS_MAX_BUFFER_SIZE)
		throw std::runtime_error("a FlatBuffers buffer stops at 2 GiB");
	Stopwatch sw;
	// Sized up front: the builder would otherwise grow by copying.
	flatbuffers::FlatBufferBuilder fbb(size);
	flatbuffers::Offset<flatbuffers::Vector<const fb::Node1 *>> one;
	flatbuffers::Offset<flatbuffers::Vector<const fb::Node2 *>> two;

	if (p.two_links()) {
		fb::Node2 *a;

		two = fbb.CreateUninitializedVectorOfStructs(p.n, &a);
		for (size_t i = 0; i < p.n; i++)
			a[i] = fb::Node2((uint32_t)i, p.l0[i], p.l1[i]);
	} else {
		fb::Node1 *a;

		one = fbb.CreateUninitializedVectorOfStructs(p.n, &a);
		for (size_t i = 0; i < p.n; i++)
			a[i] = fb::Node1((uint32_t)i, p.l0[i]);
	}
	r.build = sw.lap();
	sw.restart();
	fbb.Finish(fb::CreateNodes(fbb, p.root, one, two));
	r.seal = sw.lap();
	r.peak_rss = peak_rss();
	sw.restart();
	write_file(path, fbb.GetBufferPointer(), fbb.GetSize());
	r.write = sw.lap();
	r.bytes = fbb.GetSize();
	return r;
}

Consumed consume(const Plan &p, const std::string &path)
{
	Consumed r;
	Stopwatch sw;
	Mapped m(path);
	const uint8_t *buf = static_cast<const uint8_t *>(m.p);
	// The Verifier's max_tables (a million by default) raised, as for any
	// large buffer; a vector of structs is checked in one step.
	flatbuffers::Verifier v(buf, m.size, 64, UINT32_MAX - 1);

	if (!fb::VerifyNodesBuffer(v))
		throw std::runtime_error(path + ": the Verifier refused it");
	const fb::Nodes *root = fb::GetNodes(buf);

	if (p.two_links()) {
		Graph<fb::Node2> g{ root->two() };

		r.open = sw.lap();
		sw.restart();
		r.sum = walk(p, g, root->root());
	} else {
		Graph<fb::Node1> g{ root->one() };

		r.open = sw.lap();
		sw.restart();
		r.sum = walk(p, g, root->root());
	}
	r.walk = sw.lap();
	r.peak_rss = peak_rss();
	return r;
}

} // namespace

const System flatbuffers_system = { "flatbuffers", produce, consume };

} // namespace peers
