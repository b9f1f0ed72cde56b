// SPDX-License-Identifier: MIT
// cma-peers: the workloads, clocks and walks every system shares.
#ifndef CMA_PEERS_H
#define CMA_PEERS_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace peers {

constexpr uint32_t NONE = UINT32_MAX;

enum class Workload { LIST_SEQ, LIST_RANDOM, TREE, GRAPH };

const char *workload_name(Workload wl);
bool workload_from(const std::string &s, Workload *wl);

// Map a whole file read-only; throws on failure.
struct Mapped {
	void *p = nullptr;
	size_t size = 0;
	explicit Mapped(const std::string &path);
	~Mapped();
	Mapped(const Mapped &) = delete;
	Mapped &operator=(const Mapped &) = delete;
};

// A workload as links between node indices: node i (allocated i-th, x = i)
// links to l0[i] and l1[i] (NONE: no link). The parent makes it once, in a
// plan file; every child maps that file, so no child spends time or memory
// making links, and a consumer touches none of them.
class Plan {
public:
	// Make the links of `wl` over n nodes and write them to path.
	static void make(Workload wl, size_t n, const std::string &path);
	explicit Plan(const std::string &path);

	Workload wl;
	size_t n = 0;
	uint32_t root = NONE;
	const uint32_t *l0 = nullptr, *l1 = nullptr;	// l1 null: a list
	// Every link points to an earlier node: one pass builds it.
	bool backward = false;
	bool two_links() const { return l1 != nullptr; }
	// The bytes of links a producer reads (resident once it has built).
	size_t link_bytes() const { return n * 4 * (two_links() ? 2 : 1); }

private:
	Mapped file;
};

// A phase's duration: wall-clock and this process's CPU time (user and
// system), nanoseconds. On a shared machine the wall clock also counts
// the time spent waiting for a CPU; the CPU time does not.
struct Span {
	uint64_t wall = 0, cpu = 0;
};

class Stopwatch {
public:
	Stopwatch() { restart(); }
	void restart();
	Span lap() const;	// since the last restart

private:
	Span start;
};

// What a producer reports: each phase, the file's size, VmHWM, and the
// bytes of its table from node index to address (the plan's links are
// indices; a user of pointers holds the addresses instead), which the
// table of results counts apart, like the plan's links.
struct Produced {
	Span build, seal, write;
	uint64_t bytes = 0, peak_rss = 0, index_table = 0;
};

// What a consumer reports; sum checks that every system walked alike.
struct Consumed {
	Span open, walk;
	uint64_t peak_rss = 0, sum = 0;
	int relocated = -1;	// libcma only: cm_blob_relocated()
};

uint64_t peak_rss();

// A system: produce writes the workload to path; consume opens and walks
// it in a new process. Both throw std::runtime_error on failure.
struct System {
	const char *name;
	Produced (*produce)(const Plan &p, const std::string &path);
	Consumed (*consume)(const Plan &p, const std::string &path);
};

// Walk everything reachable from root: a list to its end, a tree depth
// first, a graph depth first with a visited bit per node (x is the
// index). G gives x(h), l0(h), l1(h), none(h) over its handles H.
template <class G, class H>
uint64_t walk(const Plan &p, const G &g, H root)
{
	uint64_t sum = 0, count = 0;

	if (!p.two_links()) {
		for (H h = root; !g.none(h); h = g.l0(h)) {
			sum += g.x(h);
			count++;
		}
		return sum * 31 + count;
	}
	std::vector<H> stack;
	std::vector<uint64_t> seen;
	const bool graph = p.wl == Workload::GRAPH;

	if (graph)
		seen.assign(p.n / 64 + 1, 0);
	stack.reserve(1024);
	if (!g.none(root))
		stack.push_back(root);
	while (!stack.empty()) {
		H h = stack.back();
		uint32_t x = g.x(h);

		stack.pop_back();
		if (graph) {
			if (seen[x / 64] >> (x % 64) & 1)
				continue;
			seen[x / 64] |= 1ULL << (x % 64);
		}
		sum += x;
		count++;
		H a = g.l0(h), b = g.l1(h);

		if (!g.none(b))
			stack.push_back(b);
		if (!g.none(a))
			stack.push_back(a);
	}
	return sum * 31 + count;
}

// The walk over the plan itself: what every system's walk must return.
uint64_t expected_sum(const Plan &p);

// The systems, one file each.
extern const System raw_system, cma_system, cma_trusted_system,
	cma_array_system, capnp_system, flatbuffers_system, boost_node_system,
	boost_array_system;

// Write n bytes to a new file at path (no fsync: the page cache holds it).
void write_file(const std::string &path, const void *p, size_t n);

[[noreturn]] void fail(const std::string &what);

} // namespace peers

#endif
