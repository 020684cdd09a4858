//go:build cgo

// Package heapcanary is a test helper for package harden: it copies a
// canary through glibc's malloc the way C++ string handling does, frees
// every copy, and counts the copies left in the process's writable memory.
// Only tests import it.
package heapcanary

/*
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// The canary is computed, never stored: a table of it in memory would be
// found by the scan. Its 64 bytes are distinct (151 is odd), so a byte
// gives its phase.
static unsigned char canary(size_t i) { return (unsigned char)(((i % 64) * 151u + 89u) ^ 0x5Au); }

static void fill(unsigned char *p, size_t n) {
	for (size_t i = 0; i < n; i++) p[i] = canary(i);
}

// churn mimics tokenization and templating: a prompt, its copies, a
// substring, a growing buffer and many short strings, all freed.
static void churn(size_t n) {
	unsigned char *a = malloc(n), *b = malloc(n), *c = malloc(n / 2);
	if (!a || !b || !c) abort();
	fill(a, n);
	memcpy(b, a, n);
	memcpy(c, a + 64, n / 2);
	unsigned char *g = realloc(b, n * 4);
	if (!g) abort();
	free(a);
	free(c);
	free(g);
	for (int k = 0; k < 64; k++) {
		unsigned char *s = malloc(48 + k);
		if (!s) abort();
		fill(s, 48 + k);
		free(s);
	}
}

enum { WINDOW = 24, CHUNK = 1 << 20 };

// count_in counts canary windows of WINDOW bytes, at any phase, in p[0:n].
static long count_in(const unsigned char *p, size_t n, const signed char *phase) {
	long hits = 0;
	for (size_t i = 0; i + WINDOW <= n; i++) {
		int ph = phase[p[i]];
		if (ph < 0) continue;
		size_t k = 1;
		while (k < WINDOW && p[i + k] == canary(ph + k)) k++;
		if (k == WINDOW) { hits++; i += WINDOW - 1; }
	}
	return hits;
}

// scan reads every private writable anonymous mapping and the brk heap
// through /proc/self/mem into a buffer of its own mapping, which it skips.
static long scan(void) {
	signed char phase[256];
	memset(phase, -1, sizeof phase);
	for (int i = 0; i < 64; i++) phase[canary(i)] = (signed char)i;
	unsigned char *buf = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	FILE *maps = fopen("/proc/self/maps", "r");
	int mem = open("/proc/self/mem", O_RDONLY);
	if (buf == MAP_FAILED || !maps || mem < 0) return -1;
	long hits = 0;
	char line[512];
	while (fgets(line, sizeof line, maps)) {
		unsigned long lo, hi;
		char perms[5], path[256] = "";
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &lo, &hi, perms, path) < 3) continue;
		if (perms[0] != 'r' || perms[1] != 'w') continue;
		if (path[0] != '\0' && strcmp(path, "[heap]") != 0) continue;
		if (lo == (unsigned long)buf) continue;
		// Overlap reads by WINDOW-1 bytes so no window straddles chunks.
		for (unsigned long off = lo; off < hi; off += CHUNK - (WINDOW - 1)) {
			size_t want = hi - off < CHUNK ? hi - off : CHUNK;
			ssize_t got = pread(mem, buf, want, (off_t)off);
			if (got <= 0) break;
			hits += count_in(buf, (size_t)got, phase);
			if ((size_t)got < CHUNK) break;
		}
	}
	fclose(maps);
	close(mem);
	munmap(buf, CHUNK);
	return hits;
}

static long churn_and_scan(size_t n) {
	churn(n);
	return scan();
}
*/
import "C"

// Supported reports whether the helper works in this build.
const Supported = true

// ChurnAndScan copies a canary of n bytes through malloc (n between 1 KiB
// and 64 KiB keeps every chunk on the heap rather than in its own
// mapping), frees it all, and returns how many canary windows remain in
// writable memory, or -1 if /proc/self/mem cannot be read.
func ChurnAndScan(n int) int {
	return int(C.churn_and_scan(C.size_t(n)))
}
