// SPDX-License-Identifier: MIT
// cma-peers: the same work in libcma, Cap'n Proto, FlatBuffers,
// Boost.Interprocess and a raw array; each run's producer and consumer are
// new processes (this program again), medians of the runs.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include "peers.h"

extern char **environ;

using namespace peers;

namespace {

const System *const systems[] = {
	&cma_system, &raw_system, &capnp_system, &flatbuffers_system,
	&boost_node_system, &boost_array_system,
};

const System *find_system(const std::string &name)
{
	for (const System *s : systems)
		if (name == s->name)
			return s;
	return nullptr;
}

struct Options {
	size_t nodes = 10000000;
	int runs = 5;
	std::vector<std::string> systems, workloads;
	std::string dir;
	// A child's part: produce or consume one system's file.
	std::string role, system, workload, file;
};

std::vector<std::string> split(const std::string &s)
{
	std::vector<std::string> out;
	size_t at = 0;

	while (at <= s.size()) {
		size_t comma = s.find(',', at);

		if (comma == std::string::npos)
			comma = s.size();
		if (comma > at)
			out.push_back(s.substr(at, comma - at));
		at = comma + 1;
	}
	return out;
}

const char usage[] =
	"usage: cma-peers [--nodes N] [--runs N] [--systems a,b,...]\n"
	"                 [--workloads list,list-random,tree,graph] [--dir D]\n"
	"Builds, seals, writes, then in a second process opens and walks the\n"
	"same nodes in each system; prints medians and libcma's ratios.\n";

bool parse(int argc, char **argv, Options *o)
{
	for (int i = 1; i < argc; i++) {
		std::string a = argv[i], v = i + 1 < argc ? argv[i + 1] : "";
		char *end;

		if (a == "--help") {
			fputs(usage, stdout);
			exit(0);
		}
		if (i + 1 >= argc)
			return false;
		i++;
		if (a == "--nodes") {
			o->nodes = strtoull(v.c_str(), &end, 10);
			if (*end || o->nodes < 2 || o->nodes > (1u << 30))
				return false;
		} else if (a == "--runs") {
			o->runs = atoi(v.c_str());
			if (o->runs < 1 || o->runs > 99)
				return false;
		} else if (a == "--systems") {
			o->systems = split(v);
		} else if (a == "--workloads") {
			o->workloads = split(v);
		} else if (a == "--dir") {
			o->dir = v;
		} else if (a == "--role") {
			o->role = v;
		} else if (a == "--system") {
			o->system = v;
		} else if (a == "--workload") {
			o->workload = v;
		} else if (a == "--file") {
			o->file = v;
		} else {
			return false;
		}
	}
	return true;
}

// The child: one phase of one system, its figures on stdout.
int child(const Options &o)
{
	const System *s = find_system(o.system);
	Workload wl;

	if (!s || !workload_from(o.workload, &wl))
		return 2;
	Plan p = make_plan(wl, o.nodes);

	try {
		if (o.role == "produce") {
			Produced r = s->produce(p, o.file);

			printf("%llu %llu %llu %llu %llu\n",
			       (unsigned long long)r.build_ns,
			       (unsigned long long)r.seal_ns,
			       (unsigned long long)r.write_ns,
			       (unsigned long long)r.bytes,
			       (unsigned long long)r.peak_rss);
		} else {
			Consumed r = s->consume(p, o.file);

			printf("%llu %llu %llu %llu %d\n",
			       (unsigned long long)r.open_ns,
			       (unsigned long long)r.walk_ns,
			       (unsigned long long)r.peak_rss,
			       (unsigned long long)r.sum, r.relocated);
		}
	} catch (const std::exception &e) {
		fprintf(stderr, "cma-peers: %s %s: %s\n", s->name,
			o.workload.c_str(), e.what());
		return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

// Run this program as a child; its stdout line parsed into v[0..5).
bool spawn(const Options &o, const char *role, const System *s,
	   Workload wl, const std::string &file, unsigned long long v[5],
	   int *relocated)
{
	std::string nodes = std::to_string(o.nodes);
	const char *argv[] = { "/proc/self/exe", "--role", role, "--system",
			       s->name, "--workload", workload_name(wl),
			       "--nodes", nodes.c_str(), "--file",
			       file.c_str(), nullptr };
	posix_spawn_file_actions_t fa;
	int fds[2], status;
	char buf[512];
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) || posix_spawn_file_actions_init(&fa))
		return false;
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	errno = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr,
			    const_cast<char **>(argv), environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (errno) {
		close(fds[0]);
		return false;
	}
	while (got < sizeof(buf) - 1
	       && (n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return false;
	if (relocated)
		return sscanf(buf, "%llu %llu %llu %llu %d", &v[0], &v[1],
			      &v[2], &v[3], relocated) == 5;
	return sscanf(buf, "%llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		      &v[3], &v[4]) == 5;
}

double median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	size_t n = v.size();

	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A system's medians on one workload: ms a phase, MiB.
enum Col { BUILD, SEAL, WRITE, PRODUCE, OPEN, WALK, CONSUME, NCOLS };
const char *const col_names[NCOLS] = {
	"build", "seal", "write", "build+seal+write", "open", "walk",
	"open+walk",
};

struct Row {
	const System *s;
	double ms[NCOLS];
	double mib, prod_rss, cons_rss;
	uint64_t sum;
	int relocated;
	bool ok;
};

Row measure(const Options &o, const System *s, Workload wl)
{
	std::vector<double> col[NCOLS], size, prss, crss;
	std::string file = o.dir + "/" + s->name + "-" + workload_name(wl);
	Row r{ s, {}, 0, 0, 0, 0, -1, true };

	for (int run = 0; run < o.runs && r.ok; run++) {
		unsigned long long p[5], c[5];

		r.ok = spawn(o, "produce", s, wl, file, p, nullptr)
		       && spawn(o, "consume", s, wl, file, c, &r.relocated);
		unlink(file.c_str());
		if (!r.ok)
			break;
		col[BUILD].push_back(p[0] / 1e6);
		col[SEAL].push_back(p[1] / 1e6);
		col[WRITE].push_back(p[2] / 1e6);
		col[PRODUCE].push_back((p[0] + p[1] + p[2]) / 1e6);
		col[OPEN].push_back(c[0] / 1e6);
		col[WALK].push_back(c[1] / 1e6);
		col[CONSUME].push_back((c[0] + c[1]) / 1e6);
		size.push_back(p[3] / 1048576.0);
		prss.push_back(p[4] / 1048576.0);
		crss.push_back(c[2] / 1048576.0);
		r.sum = c[3];
	}
	for (int i = 0; i < NCOLS; i++)
		r.ms[i] = median(col[i]);
	r.mib = median(size);
	r.prod_rss = median(prss);
	r.cons_rss = median(crss);
	return r;
}

void table(Workload wl, const std::vector<Row> &rows)
{
	const Row *cma = nullptr;

	printf("\n%s: medians, ms (open+walk and build+seal+write in the "
	       "second and first process)\n", workload_name(wl));
	printf("%-12s", "system");
	for (const char *c : col_names)
		printf(" %9.9s", c);
	printf(" %8s %8s %8s\n", "file MiB", "RSS prod", "RSS cons");
	for (const Row &r : rows) {
		if (r.s == &cma_system)
			cma = &r;
		printf("%-12s", r.s->name);
		if (!r.ok) {
			printf(" failed\n");
			continue;
		}
		for (double v : r.ms)
			printf(" %9.1f", v);
		printf(" %8.1f %8.1f %8.1f", r.mib, r.prod_rss, r.cons_rss);
		if (r.relocated >= 0)
			printf("  (%s)", r.relocated ? "relocated"
						     : "at its base");
		printf("\n");
	}
	if (!cma || !cma->ok)
		return;
	printf("libcma / system, ratio of medians (below 1: libcma faster)\n");
	for (const Row &r : rows) {
		if (&r == cma || !r.ok)
			continue;
		printf("%-12s", r.s->name);
		// A phase the system does not have (raw's seal): no ratio.
		for (int i = 0; i < NCOLS; i++)
			if (r.ms[i] < 0.01)
				printf(" %9s", "-");
			else
				printf(" %9.3f", cma->ms[i] / r.ms[i]);
		printf(" %8.3f %8.3f %8.3f%s\n", cma->mib / r.mib,
		       cma->prod_rss / r.prod_rss, cma->cons_rss / r.cons_rss,
		       r.sum == cma->sum ? "" : "  WALKED DIFFERENTLY");
	}
}

} // namespace

int main(int argc, char **argv)
{
	Options o;
	char tmpl[] = "/tmp/cma-peers-XXXXXX";
	int status = 0;

	if (!parse(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	if (!o.role.empty())
		return child(o);
	if (o.systems.empty())
		for (const System *s : systems)
			o.systems.push_back(s->name);
	if (o.workloads.empty())
		o.workloads = { "list", "list-random", "tree", "graph" };
	if (o.dir.empty()) {
		const char *t = getenv("TMPDIR");

		if (t && *t)
			o.dir = t;
	}
	std::string made;

	if (o.dir.empty()) {
		if (!mkdtemp(tmpl)) {
			perror("cma-peers: mkdtemp");
			return 1;
		}
		o.dir = made = tmpl;
	}
	printf("cma-peers: %zu nodes, medians of %d runs\n", o.nodes, o.runs);
	for (const std::string &w : o.workloads) {
		Workload wl;
		std::vector<Row> rows;

		if (!workload_from(w, &wl)) {
			fprintf(stderr, "cma-peers: unknown workload %s\n",
				w.c_str());
			return 2;
		}
		for (const std::string &name : o.systems) {
			const System *s = find_system(name);

			if (!s) {
				fprintf(stderr, "cma-peers: unknown system "
					"%s\n", name.c_str());
				return 2;
			}
			fprintf(stderr, "cma-peers: %s %s\n", w.c_str(),
				s->name);
			rows.push_back(measure(o, s, wl));
			if (!rows.back().ok)
				status = 1;
		}
		table(wl, rows);
		fflush(stdout);
	}
	if (!made.empty())
		rmdir(made.c_str());
	return status;
}
