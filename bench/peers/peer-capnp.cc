// SPDX-License-Identifier: MIT
// cma-peers, Cap'n Proto: one list of structs linked by index, written
// with writeMessageToFd, read in place from a mapping.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <stdexcept>
#include <unistd.h>

#include "nodes.capnp.h"
#include "peers.h"

namespace peers {

namespace {

// The list is fetched once, outside the walk, as its users are told to.
template <class L> struct Graph {
	L list;
	bool none(uint32_t h) const { return h == NONE; }
	uint32_t x(uint32_t h) const { return list[h].getX(); }
	uint32_t l0(uint32_t h) const { return list[h].getL0(); }
	uint32_t l1(uint32_t h) const;
};

template <>
uint32_t Graph<capnp::List<cp::Node1>::Reader>::l1(uint32_t) const
{
	return NONE;
}

template <>
uint32_t Graph<capnp::List<cp::Node2>::Reader>::l1(uint32_t h) const
{
	return list[h].getL1();
}

// Words a message of n nodes takes: one first segment holds it all, as a
// user who knows the size asks (growing segments would split the list).
size_t words_for(const Plan &p)
{
	return p.n * (p.two_links() ? 2 : 1) + 64;
}

Produced produce_nodes(const Plan &p, const std::string &path)
{
	Produced r;

	// A list's length is 29 bits in its pointer.
	if (p.n >= (1u << capnp::LIST_ELEMENT_COUNT_BITS))
		throw std::runtime_error("a Cap'n Proto list holds at most "
					 "2^29 - 1 elements");
	Stopwatch sw;
	capnp::MallocMessageBuilder msg(
		(unsigned)words_for(p), capnp::AllocationStrategy::FIXED_SIZE);
	auto root = msg.initRoot<cp::Nodes>();

	root.setRoot(p.root);
	if (p.two_links()) {
		auto list = root.initTwo((unsigned)p.n);

		for (size_t i = 0; i < p.n; i++) {
			auto n = list[(unsigned)i];

			n.setX((uint32_t)i);
			n.setL0(p.l0[i]);
			n.setL1(p.l1[i]);
		}
	} else {
		auto list = root.initOne((unsigned)p.n);

		for (size_t i = 0; i < p.n; i++) {
			auto n = list[(unsigned)i];

			n.setX((uint32_t)i);
			n.setL0(p.l0[i]);
		}
	}
	r.build = sw.lap();
	r.peak_rss = peak_rss();
	// No seal: the segments are the message; writing frames them.
	sw.restart();
	int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		      0600);

	if (fd < 0)
		fail(path);
	capnp::writeMessageToFd(fd, msg);
	if (close(fd))
		fail(path + ": close");
	r.write = sw.lap();
	r.bytes = capnp::computeSerializedSizeInWords(msg) * 8;
	r.peak_rss = std::max(r.peak_rss, peak_rss());
	return r;
}

Consumed consume_nodes(const Plan &p, const std::string &path)
{
	Consumed r;
	Stopwatch sw;
	Mapped m(path);
	capnp::ReaderOptions opt;

	// The default limit (8M words, 64 MiB read) refuses these messages;
	// with the list fetched once, the limit counts its words only once.
	opt.traversalLimitInWords = m.size / sizeof(capnp::word) + 1;
	capnp::FlatArrayMessageReader msg(
		kj::ArrayPtr<const capnp::word>(
			static_cast<const capnp::word *>(m.p),
			m.size / sizeof(capnp::word)),
		opt);
	auto root = msg.getRoot<cp::Nodes>();

	if (p.two_links()) {
		Graph<capnp::List<cp::Node2>::Reader> g{ root.getTwo() };

		r.open = sw.lap();
		sw.restart();
		r.sum = walk(p, g, root.getRoot());
	} else {
		Graph<capnp::List<cp::Node1>::Reader> g{ root.getOne() };

		r.open = sw.lap();
		sw.restart();
		r.sum = walk(p, g, root.getRoot());
	}
	r.walk = sw.lap();
	r.peak_rss = peak_rss();
	return r;
}

// Cap'n Proto reports errors as kj::Exception; the driver expects
// std::exception.
Produced produce(const Plan &p, const std::string &path)
{
	try {
		return produce_nodes(p, path);
	} catch (const kj::Exception &e) {
		throw std::runtime_error(e.getDescription().cStr());
	}
}

Consumed consume(const Plan &p, const std::string &path)
{
	try {
		return consume_nodes(p, path);
	} catch (const kj::Exception &e) {
		throw std::runtime_error(e.getDescription().cStr());
	}
}

} // namespace

const System capnp_system = { "capnproto", produce, consume };

} // namespace peers
