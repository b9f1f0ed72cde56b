// SPDX-License-Identifier: MIT
// cma-peers: the same work in libcma, Cap'n Proto, FlatBuffers,
// Boost.Interprocess and a raw array; each run's producer and consumer are
// new processes (this program again), medians of the runs.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <initializer_list>
#include <iterator>
#include <spawn.h>
#include <stdexcept>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peers.h"

extern char **environ;

using namespace peers;

namespace {

const System *const systems[] = {
	&cma_system, &cma_trusted_system, &cma_array_system, &raw_system,
	&capnp_system, &flatbuffers_system, &boost_node_system,
	&boost_array_system,
};

const System *find_system(const std::string &name)
{
	for (const System *s : systems)
		if (name == s->name)
			return s;
	return nullptr;
}


// Which clock the tables give (the child measures both).
enum Clock { WALL, CPU };

struct Options {
	size_t nodes = 10000000;
	int runs = 5;
	Clock clock = CPU;
	std::vector<const System *> systems;
	std::vector<Workload> workloads;
	std::string dir;
	// A child's part: produce or consume one system's file of a plan.
	std::string role, system, plan, file;
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
	"usage: cma-peers [--nodes N] [--runs N] [--clock cpu|wall] "
	"[--dir DIR]\n"
	"                 [--systems libcma,libcma-trusted,libcma-array,raw,\n"
	"                  capnproto,flatbuffers,boost-node,boost-array]\n"
	"                 [--workloads list,list-random,tree,graph]\n"
	"Builds, seals and writes the same nodes in each system, then opens\n"
	"and walks them in a second process; prints the medians of the runs\n"
	"and libcma's ratio to each system, run by run. Defaults: 10000000\n"
	"nodes, 5 runs, CPU time, every system and workload, files in\n"
	"$TMPDIR or /tmp.\n";

bool parse_value(const std::string &a, const std::string &v, Options *o)
{
	char *end;

	if (a == "--nodes") {
		o->nodes = strtoull(v.c_str(), &end, 10);
		return !*end && o->nodes >= 2 && o->nodes <= (1u << 30);
	}
	if (a == "--runs") {
		o->runs = (int)strtol(v.c_str(), &end, 10);
		return !*end && o->runs >= 1 && o->runs <= 99;
	}
	if (a == "--clock") {
		o->clock = v == "wall" ? WALL : CPU;
		return v == "wall" || v == "cpu";
	}
	if (a == "--systems") {
		o->systems.clear();
		for (const std::string &name : split(v)) {
			const System *s = find_system(name);

			if (!s) {
				fprintf(stderr, "cma-peers: no system %s\n",
					name.c_str());
				return false;
			}
			o->systems.push_back(s);
		}
		return !o->systems.empty();
	}
	if (a == "--workloads") {
		o->workloads.clear();
		for (const std::string &name : split(v)) {
			Workload wl;

			if (!workload_from(name, &wl)) {
				fprintf(stderr, "cma-peers: no workload %s\n",
					name.c_str());
				return false;
			}
			o->workloads.push_back(wl);
		}
		return !o->workloads.empty();
	}
	std::string *field = a == "--dir"      ? &o->dir
			     : a == "--role"   ? &o->role
			     : a == "--system" ? &o->system
			     : a == "--plan"   ? &o->plan
			     : a == "--file"   ? &o->file
					       : nullptr;
	if (!field)
		return false;
	*field = v;
	return true;
}

bool parse(int argc, char **argv, Options *o)
{
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];

		if (a == "--help") {
			fputs(usage, stdout);
			exit(0);
		}
		if (i + 1 >= argc || !parse_value(a, argv[i + 1], o))
			return false;
		i++;
	}
	return true;
}

// A child's figures: one line of numbers on stdout.
void print_figures(std::initializer_list<uint64_t> v)
{
	const char *sep = "";

	for (uint64_t x : v) {
		printf("%s%llu", sep, (unsigned long long)x);
		sep = " ";
	}
	printf("\n");
}

// The line print_figures wrote, if it has exactly n numbers.
bool read_figures(const std::string &line, size_t n,
		  std::vector<uint64_t> *v)
{
	const char *at = line.c_str();
	char *end;

	v->clear();
	while (*at && *at != '\n') {
		errno = 0;
		v->push_back(strtoull(at, &end, 10));
		if (end == at || errno)
			return false;
		at = end;
	}
	return v->size() == n;
}

// The child: one phase of one system, its figures on one line of stdout.
int child(const Options &o)
{
	const System *s = find_system(o.system);

	if (!s)
		return 2;
	try {
		const Plan p(o.plan);

		if (o.role == "produce") {
			Produced r = s->produce(p, o.file);

			print_figures({ r.build.wall, r.build.cpu, r.seal.wall,
					r.seal.cpu, r.write.wall, r.write.cpu,
					r.bytes, r.peak_rss, r.index_table });
		} else {
			Consumed r = s->consume(p, o.file);

			// relocated: -1 (not libcma) is read back as such.
			print_figures({ r.open.wall, r.open.cpu, r.walk.wall,
					r.walk.cpu, r.peak_rss, r.sum,
					(uint64_t)(int64_t)r.relocated });
		}
	} catch (const std::exception &e) {
		fprintf(stderr, "cma-peers: %s: %s\n", s->name, e.what());
		return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

// What SIGINT and SIGTERM clean up: the running child, the files, the
// directory (fixed once the directory exists, before any handler runs).
volatile sig_atomic_t running_child;
char cleanup_dir[4096], cleanup_plan[4096], cleanup_blob[4096];

void on_signal(int sig)
{
	if (running_child > 0) {
		kill(running_child, SIGKILL);
		waitpid(running_child, nullptr, 0);
	}
	unlink(cleanup_blob);
	unlink(cleanup_plan);
	rmdir(cleanup_dir);
	signal(sig, SIG_DFL);
	raise(sig);
}

void set_path(char *dst, const std::string &src)
{
	snprintf(dst, sizeof(cleanup_dir), "%s", src.c_str());
}

// Run this program as a child; its stdout line read into line.
bool spawn(const char *role, const System *s, const std::string &plan,
	   const std::string &file, std::string *line)
{
	const char *argv[] = { "/proc/self/exe", "--role", role, "--system",
			       s->name, "--plan", plan.c_str(), "--file",
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
	int err = posix_spawn(&pid, "/proc/self/exe", &fa, nullptr,
			      const_cast<char **>(argv), environ);

	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (err) {
		fprintf(stderr, "cma-peers: spawn: %s\n", strerror(err));
		close(fds[0]);
		return false;
	}
	running_child = pid;
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
	running_child = 0;
	*line = buf;
	// An exit status other than 0 comes with the child's own message.
	if (WIFSIGNALED(status))
		fprintf(stderr, "cma-peers: %s: the %s process died of signal "
			"%d\n", s->name, role, WTERMSIG(status));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double median(std::vector<double> v)
{
	if (v.empty())
		return 0;
	std::sort(v.begin(), v.end());
	size_t n = v.size();

	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// One run of one system: ms a phase on each clock, MiB.
enum Col { BUILD, SEAL, WRITE, PRODUCE, OPEN, WALK, CONSUME, NCOLS };
const char *const col_names[NCOLS] = {
	"build", "seal", "write", "b+s+w", "open", "walk", "open+walk",
};
enum Size { FILE_MIB, PROD_RSS, CONS_RSS, INDEX_TABLE, NSIZES };
const char *const size_names[NSIZES] = {
	"file MiB", "RSS prod", "RSS cons", "idx table",
};

struct Sample {
	double ms[2][NCOLS];	// [WALL or CPU]
	double mib[NSIZES];
};

// A system's runs on one workload.
struct Row {
	const System *s;
	std::vector<Sample> runs;
	int relocated = -1;
	bool ok = true;

	double med_ms(int clock, int c) const
	{
		std::vector<double> v;

		for (const Sample &x : runs)
			v.push_back(x.ms[clock][c]);
		return median(v);
	}
	double med_mib(int c) const
	{
		std::vector<double> v;

		for (const Sample &x : runs)
			v.push_back(x.mib[c]);
		return median(v);
	}
	// How much longer the whole run took than its CPU time.
	double wall_over_cpu() const
	{
		std::vector<double> v;

		for (const Sample &x : runs)
			v.push_back((x.ms[WALL][PRODUCE] + x.ms[WALL][CONSUME])
				    / (x.ms[CPU][PRODUCE]
				       + x.ms[CPU][CONSUME]));
		return median(v);
	}
};

// The phases of a child's line, from their wall and CPU nanoseconds.
void fill_phases(Sample *x, const uint64_t *ns, int first,
		 int count, int total)
{
	for (int clock = WALL; clock <= CPU; clock++) {
		x->ms[clock][total] = 0;
		for (int i = 0; i < count; i++) {
			x->ms[clock][first + i] = ns[2 * i + clock] / 1e6;
			x->ms[clock][total] += ns[2 * i + clock] / 1e6;
		}
	}
}

// Produce then consume one system's file; false (said why) on failure.
bool run_once(const Plan &p, const std::string &plan, uint64_t expected,
	      const std::string &dir, Row *row)
{
	const std::string file = dir + "/" + row->s->name + ".blob";
	std::string produced, consumed;
	std::vector<uint64_t> a, b;

	set_path(cleanup_blob, file);
	bool ok = spawn("produce", row->s, plan, file, &produced)
		  && spawn("consume", row->s, plan, file, &consumed);

	unlink(file.c_str());
	if (ok && (!read_figures(produced, 9, &a)
		   || !read_figures(consumed, 7, &b))) {
		fprintf(stderr, "cma-peers: %s: a child's figures are "
			"garbled\n", row->s->name);
		ok = false;
	}
	if (!ok)
		return false;
	if (b[5] != expected) {
		fprintf(stderr, "cma-peers: %s %s: walked differently from "
			"the plan (%llu, not %llu)\n", row->s->name,
			workload_name(p.wl), (unsigned long long)b[5],
			(unsigned long long)expected);
		return false;
	}
	row->relocated = (int)(int64_t)b[6];
	Sample x;

	fill_phases(&x, a.data(), BUILD, 3, PRODUCE);
	fill_phases(&x, b.data(), OPEN, 2, CONSUME);
	x.mib[FILE_MIB] = a[6] / 1048576.0;
	// The producer reads every link of the plan (the same for all) and
	// may hold an index table: the harness's memory, not the system's.
	const uint64_t harness = p.link_bytes() + a[8];

	x.mib[PROD_RSS] = (a[7] - std::min(a[7], harness)) / 1048576.0;
	x.mib[INDEX_TABLE] = a[8] / 1048576.0;
	x.mib[CONS_RSS] = b[4] / 1048576.0;
	row->runs.push_back(x);
	return true;
}

// A phase a system does not have, or that costs next to nothing: no ratio.
const double negligible_ms = 0.1;

void print_medians(const Options &o, const Plan &p,
		   const std::vector<Row> &rows)
{
	printf("\n%s: medians, ms of %s time; walk ns/node; MiB\n",
	       workload_name(p.wl), o.clock == CPU ? "CPU" : "wall-clock");
	printf("%-14s", "system");
	for (const char *c : col_names)
		printf(" %9s", c);
	printf(" %9s", "ns/node");
	for (const char *c : size_names)
		printf(" %8s", c);
	printf(" %8s\n", "wall/CPU");
	for (const Row &r : rows) {
		printf("%-14s", r.s->name);
		if (!r.ok) {
			printf(" failed\n");
			continue;
		}
		for (int c = 0; c < NCOLS; c++)
			printf(" %9.1f", r.med_ms(o.clock, c));
		printf(" %9.1f", r.med_ms(o.clock, WALK) * 1e6 / p.n);
		for (int c = 0; c < NSIZES; c++)
			printf(" %8.1f", r.med_mib(c));
		printf(" %8.2f", r.wall_over_cpu());
		if (r.relocated >= 0)
			printf("  (%s)", r.relocated ? "relocated"
						     : "at its base");
		printf("\n");
	}
}

// libcma's time over the system's, the median of the runs' ratios.
double ratio(int clock, const Row &cma, const Row &r, int c)
{
	std::vector<double> v;

	for (size_t i = 0; i < r.runs.size() && i < cma.runs.size(); i++)
		v.push_back(cma.runs[i].ms[clock][c] / r.runs[i].ms[clock][c]);
	return median(v);
}

void print_ratios(const Options &o, const std::vector<Row> &rows)
{
	const Row *cma = nullptr;

	for (const Row &r : rows)
		if (r.s == &cma_system && r.ok)
			cma = &r;
	if (!cma)
		return;
	printf("libcma / system: times, median of the runs' ratios; sizes, "
	       "ratio of medians\n");
	for (const Row &r : rows) {
		if (&r == cma || !r.ok)
			continue;
		printf("%-14s", r.s->name);
		for (int c = 0; c < NCOLS; c++)
			if (r.med_ms(o.clock, c) < negligible_ms
			    || cma->med_ms(o.clock, c) < negligible_ms)
				printf(" %9s", "-");
			else
				printf(" %9.3f", ratio(o.clock, *cma, r, c));
		printf(" %9s", "");
		// The index table is the harness's: no ratio.
		for (int c = 0; c < INDEX_TABLE; c++)
			printf(" %8.3f", cma->med_mib(c) / r.med_mib(c));
		printf("\n");
	}
}

std::string cpu_model()
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256];
	std::string model = "unknown CPU";

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			model = strchr(line, ':') + 2;
			model.erase(model.find_last_not_of("\n ") + 1);
			break;
		}
	if (f)
		fclose(f);
	return model;
}

// The 1-minute load average: how busy the machine was around the run.
std::string load_average()
{
	FILE *f = fopen("/proc/loadavg", "re");
	char one[32] = "unknown";

	if (f) {
		if (fscanf(f, "%31s", one) != 1)
			snprintf(one, sizeof(one), "unknown");
		fclose(f);
	}
	return one;
}

// Every system on one workload, the runs interleaved so that drift in the
// machine hits all alike; false when any failed.
bool measure(const Options &o, Workload wl)
{
	const std::string plan = o.dir + "/plan";
	bool ok = true;

	set_path(cleanup_plan, plan);
	Plan::make(wl, o.nodes, plan);
	const Plan p(plan);
	const uint64_t expected = expected_sum(p);
	std::vector<Row> rows;

	for (const System *s : o.systems)
		rows.push_back(Row{ s, {}, -1, true });
	for (int run = 0; run < o.runs; run++)
		for (Row &r : rows) {
			if (!r.ok)
				continue;
			fprintf(stderr, "cma-peers: %s, run %d of %d: %s\n",
				workload_name(wl), run + 1, o.runs, r.s->name);
			r.ok = run_once(p, plan, expected, o.dir, &r);
			ok = ok && r.ok;
		}
	unlink(plan.c_str());
	print_medians(o, p, rows);
	print_ratios(o, rows);
	return ok;
}

} // namespace

int main(int argc, char **argv)
{
	Options o;
	struct utsname u;

	if (!parse(argc, argv, &o)) {
		fputs(usage, stderr);
		return 2;
	}
	if (!o.role.empty())
		return child(o);
	if (o.systems.empty())
		o.systems.assign(std::begin(systems), std::end(systems));
	if (o.workloads.empty())
		o.workloads = { Workload::LIST_SEQ, Workload::LIST_RANDOM,
				Workload::TREE, Workload::GRAPH };
	if (o.dir.empty()) {
		const char *t = getenv("TMPDIR");

		o.dir = t && *t ? t : "/tmp";
	}
	std::string tmpl = o.dir + "/cma-peers-XXXXXX";

	if (!mkdtemp(&tmpl[0])) {
		fprintf(stderr, "cma-peers: %s: %s\n", tmpl.c_str(),
			strerror(errno));
		return 1;
	}
	o.dir = tmpl;
	set_path(cleanup_dir, o.dir);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	uname(&u);
	printf("cma-peers: %zu nodes, medians of %d runs; %s, Linux %s; "
	       "load average %s\n", o.nodes, o.runs, cpu_model().c_str(),
	       u.release, load_average().c_str());
	int status = 0;

	try {
		for (Workload wl : o.workloads) {
			if (!measure(o, wl))
				status = 1;
			fflush(stdout);
		}
	} catch (const std::exception &e) {
		fprintf(stderr, "cma-peers: %s\n", e.what());
		status = 1;
	}
	rmdir(o.dir.c_str());
	printf("\nload average %s\n", load_average().c_str());
	return status;
}
