// kvwipe.cpp zeroes the K and V data of KV cache cells.
//
// llama_memory_seq_rm only marks a sequence's cells free; their K and V
// bytes (from which the prompt can be recovered with the weights) stay
// until a later request overwrites them. llama.h has no call that zeroes
// some cells (llama_memory_clear(mem, true) zeroes all of them), and the
// cell map and tensors are private members of llama_kv_cache. We reach
// them with the explicit-instantiation rule ([temp.spec.general]/6:
// access is not checked on the names in an explicit instantiation), which
// needs no change to llama.cpp and fails to compile, rather than
// misbehaves, if a member is renamed. The headers come from the same
// pinned sources that are compiled into the binary, so the layout matches.
//
// Layout (as llama_kv_cache::state_write_data reads it): per layer and
// stream, K is kv_size rows of ggml_row_size(type, n_embd) bytes, one per
// cell; V is the same unless v_trans, where V is n_embd rows of kv_size
// elements (a cell is one element of every row).

#include <algorithm>
#include <cstring>
#include <vector>

#include <sys/mman.h>
#include <unistd.h>

#include "kvwipe.h"
#include "../src/llama-kv-cache.h"
#include "../src/llama-kv-cache-iswa.h"
#include "ggml-backend.h"

namespace {

template <typename Tag, auto Member>
struct expose {
    friend auto member(Tag) { return Member; }
};

struct layers_tag { friend auto member(layers_tag); };
struct cells_tag { friend auto member(cells_tag); };
struct vtrans_tag { friend auto member(vtrans_tag); };
struct streams_tag { friend auto member(streams_tag); };
struct bufs_tag { friend auto member(bufs_tag); };

template struct expose<layers_tag, &llama_kv_cache::layers>;
template struct expose<cells_tag, &llama_kv_cache::v_cells>;
template struct expose<vtrans_tag, &llama_kv_cache::v_trans>;
template struct expose<streams_tag, &llama_kv_cache::seq_to_stream>;
template struct expose<bufs_tag, &llama_kv_cache::ctxs_bufs>;

// caches lists the attention KV caches behind mem (none if unsupported).
int caches(llama_memory_t mem, llama_kv_cache * out[2]) {
    auto * m = reinterpret_cast<llama_memory_i *>(mem);
    if (auto * kv = dynamic_cast<llama_kv_cache *>(m)) {
        out[0] = kv;
        return 1;
    }
    if (auto * iswa = dynamic_cast<llama_kv_cache_iswa *>(m)) {
        out[0] = iswa->get_base();
        out[1] = iswa->get_swa();
        return 2;
    }
    return 0;
}

// give_back returns the whole pages inside [p, p+n), which hold only
// zeros, to the kernel (MADV_DONTNEED): they read as zeros again, and
// leave the resident set until a cell on them is written.
size_t give_back(char * p, size_t n) {
    static const uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
    const uintptr_t lo = ((uintptr_t) p + page - 1) / page * page;
    const uintptr_t hi = ((uintptr_t) p + n) / page * page;
    if (hi <= lo || madvise((void *) lo, hi - lo, MADV_DONTNEED) != 0) {
        return 0;
    }
    return hi - lo;
}

// zero zeroes n bytes of t from off. Whole pages inside the range go
// back to the kernel: a wipe of every free cell (sotto_kv_wipe_free)
// would otherwise make the whole cache resident.
void zero(ggml_tensor * t, size_t off, size_t n) {
    if (ggml_backend_buffer_is_host(t->buffer)) {
        char * p = static_cast<char *>(t->data) + off;
        memset(p, 0, n);
        give_back(p, n);
    } else {
        ggml_backend_tensor_memset(t, 0, off, n);
    }
}

// wipe_ranges zeroes the cells [first, second) of stream strm.
void wipe_ranges(llama_kv_cache * kv, uint32_t strm, const std::vector<std::pair<uint32_t, uint32_t>> & ranges) {
    const bool v_trans = kv->*member(vtrans_tag{});
    const uint32_t kv_size = (kv->*member(cells_tag{}))[strm].size();
    for (auto & layer : kv->*member(layers_tag{})) {
        ggml_tensor * k = layer.k_stream[strm];
        ggml_tensor * v = layer.v_stream[strm];
        const size_t k_row = ggml_row_size(k->type, k->ne[0]);
        for (auto & r : ranges) {
            zero(k, r.first * k_row, (r.second - r.first) * k_row);
        }
        if (!v_trans) {
            const size_t v_row = ggml_row_size(v->type, v->ne[0]);
            for (auto & r : ranges) {
                zero(v, r.first * v_row, (r.second - r.first) * v_row);
            }
            continue;
        }
        const size_t el = ggml_type_size(v->type);
        for (int64_t j = 0; j < v->ne[0]; j++) {
            for (auto & r : ranges) {
                zero(v, (r.first + j * kv_size) * el, (r.second - r.first) * el);
            }
        }
    }
}

// wipe_if zeroes the cells of every stream for which pick(cells, i) holds.
template <typename Pick>
int wipe_if(llama_kv_cache * kv, Pick pick) {
    int n = 0;
    auto & all = kv->*member(cells_tag{});
    for (uint32_t s = 0; s < all.size(); s++) {
        std::vector<std::pair<uint32_t, uint32_t>> ranges;
        for (uint32_t i = 0; i < all[s].size(); i++) {
            if (!pick(all[s], i)) {
                continue;
            }
            n++;
            if (!ranges.empty() && ranges.back().second == i) {
                ranges.back().second = i + 1;
            } else {
                ranges.push_back({i, i + 1});
            }
        }
        wipe_ranges(kv, s, ranges);
    }
    return n;
}

}  // namespace

extern "C" {

int sotto_kv_wipeable(llama_memory_t mem) {
    llama_kv_cache * kv[2];
    return caches(mem, kv) > 0;
}

int sotto_kv_iswa(llama_memory_t mem) {
    llama_kv_cache * kv[2];
    return caches(mem, kv) == 2;
}

int sotto_kv_wipe_seq(llama_memory_t mem, llama_seq_id seq, llama_pos p0) {
    llama_kv_cache * kv[2];
    int n = 0;
    for (int c = 0, nc = caches(mem, kv); c < nc; c++) {
        n += wipe_if(kv[c], [seq, p0](const llama_kv_cells & cells, uint32_t i) {
            return !cells.is_empty(i) && cells.seq_has(i, seq) && cells.seq_count(i) == 1 &&
                   cells.pos_get(i) >= p0;
        });
    }
    return n;
}

int sotto_kv_wipe_free(llama_memory_t mem) {
    llama_kv_cache * kv[2];
    int n = 0;
    for (int c = 0, nc = caches(mem, kv); c < nc; c++) {
        n += wipe_if(kv[c], [](const llama_kv_cells & cells, uint32_t i) { return cells.is_empty(i); });
    }
    return n;
}

size_t sotto_kv_release_pages(llama_memory_t mem) {
    llama_kv_cache * kv[2];
    size_t n = 0;
    for (int c = 0, nc = caches(mem, kv); c < nc; c++) {
        for (auto & cb : kv[c]->*member(bufs_tag{})) {
            ggml_backend_buffer_t buf = cb.second.get();
            if (ggml_backend_buffer_is_host(buf)) {
                n += give_back(static_cast<char *>(ggml_backend_buffer_get_base(buf)), ggml_backend_buffer_get_size(buf));
            }
        }
    }
    return n;
}

void sotto_kv_wipe_all(llama_memory_t mem) {
    llama_kv_cache * kv[2];
    const size_t chunk = 2u << 20;
    for (int c = 0, nc = caches(mem, kv); c < nc; c++) {
        for (auto & cb : kv[c]->*member(bufs_tag{})) {
            ggml_backend_buffer_t buf = cb.second.get();
            if (!ggml_backend_buffer_is_host(buf)) {
                ggml_backend_buffer_clear(buf, 0);
                continue;
            }
            char * base = static_cast<char *>(ggml_backend_buffer_get_base(buf));
            const size_t size = ggml_backend_buffer_get_size(buf);
            for (size_t off = 0; off < size; off += chunk) {
                const size_t n = std::min(chunk, size - off);
                memset(base + off, 0, n);
                give_back(base + off, n);
            }
        }
    }
    llama_memory_clear(mem, false);
}

size_t sotto_kv_resident(llama_memory_t mem, size_t * total) {
    llama_kv_cache * kv[2];
    const uintptr_t page = (uintptr_t) sysconf(_SC_PAGESIZE);
    size_t n = 0;
    *total = 0;
    std::vector<unsigned char> vec;
    for (int c = 0, nc = caches(mem, kv); c < nc; c++) {
        for (auto & cb : kv[c]->*member(bufs_tag{})) {
            ggml_backend_buffer_t buf = cb.second.get();
            const uintptr_t base = (uintptr_t) ggml_backend_buffer_get_base(buf);
            const uintptr_t lo = base / page * page;
            const uintptr_t hi = (base + ggml_backend_buffer_get_size(buf) + page - 1) / page * page;
            *total += hi - lo;
            vec.resize((hi - lo) / page);
            if (mincore((void *) lo, hi - lo, vec.data()) != 0) {
                continue;
            }
            for (unsigned char v : vec) n += (v & 1) ? page : 0;
        }
    }
    return n;
}

int sotto_kv_size(llama_memory_t mem) {
    llama_kv_cache * kv[2];
    return caches(mem, kv) > 0 ? (int) kv[0]->get_size() : 0;
}

int sotto_kv_seq_cells(llama_memory_t mem, llama_seq_id seq, int32_t * out, int cap) {
    llama_kv_cache * kv[2];
    if (caches(mem, kv) == 0) {
        return 0;
    }
    const auto & cells = (kv[0]->*member(cells_tag{}))[(kv[0]->*member(streams_tag{}))[seq]];
    int n = 0;
    for (uint32_t i = 0; i < cells.size(); i++) {
        if (!cells.is_empty(i) && cells.seq_has(i, seq)) {
            if (n < cap) {
                out[n] = (int32_t) i;
            }
            n++;
        }
    }
    return n;
}

size_t sotto_kv_cell_nonzero(llama_memory_t mem, int32_t cell) {
    llama_kv_cache * kv[2];
    if (caches(mem, kv) == 0 || cell < 0 || (uint32_t) cell >= kv[0]->get_size()) {
        return 0;
    }
    const bool v_trans = kv[0]->*member(vtrans_tag{});
    const uint32_t kv_size = kv[0]->get_size();
    size_t n = 0;
    std::vector<uint8_t> buf;
    auto count = [&](ggml_tensor * t, size_t off, size_t len) {
        buf.resize(len);
        ggml_backend_tensor_get(t, buf.data(), off, len);
        for (uint8_t b : buf) n += b != 0;
    };
    for (auto & layer : kv[0]->*member(layers_tag{})) {
        ggml_tensor * k = layer.k_stream[0];
        ggml_tensor * v = layer.v_stream[0];
        const size_t k_row = ggml_row_size(k->type, k->ne[0]);
        count(k, cell * k_row, k_row);
        if (!v_trans) {
            const size_t v_row = ggml_row_size(v->type, v->ne[0]);
            count(v, cell * v_row, v_row);
            continue;
        }
        const size_t el = ggml_type_size(v->type);
        for (int64_t j = 0; j < v->ne[0]; j++) {
            count(v, (cell + j * kv_size) * el, el);
        }
    }
    return n;
}

}  // extern "C"
