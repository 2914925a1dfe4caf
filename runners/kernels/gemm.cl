/*
 * t2-search's own parametrized GEMM: C = A @ B, row-major float32, A is MxK, B is KxN.
 *
 * One source, specialised at build time with -D options, so that every schedule candidate
 * of the search space is a distinct compiled kernel (what an auto-scheduler tunes):
 *
 *   TILE    square tile edge: a work-group computes a TILE x TILE block of C and walks K in
 *           steps of TILE, staging both operand tiles in local memory ("tile16" -> 16).
 *   LX, LY  work-group shape. Each work-item computes (TILE/LX) x (TILE/LY) outputs, so a
 *           work-group smaller than the tile is a register-blocked kernel and LX = LY = TILE
 *           the classic one-output-per-item kernel. LX and LY must divide TILE.
 *   VW      vector width of the global loads (vloadVW of VW consecutive floats of a row);
 *           1, 2, 4, 8 or 16, dividing TILE. Rows cut by the matrix edge fall back to scalar
 *           loads, so sizes that are not multiples of TILE (or VW) stay correct.
 *   UNROLL  unroll factor hint of the inner k loop: 0 leaves it to the compiler, N >= 1
 *           emits `#pragma unroll N` (1 = no unrolling).
 *   PAD     extra floats per local-memory row (0 or 1) against bank conflicts: the "_pad"
 *           kernel variants.
 *
 * Out-of-range elements of the operand tiles are loaded as zeros (implicit padding) and
 * stores are bounds-checked, which makes every M, N, K >= 1 valid.
 */

#ifndef TILE
#error "TILE must be defined"
#endif
#ifndef LX
#error "LX must be defined"
#endif
#ifndef LY
#error "LY must be defined"
#endif
#ifndef VW
#define VW 1
#endif
#ifndef UNROLL
#define UNROLL 0
#endif
#ifndef PAD
#define PAD 0
#endif

#if (TILE % LX) != 0 || (TILE % LY) != 0
#error "LX and LY must divide TILE"
#endif
#if (TILE % VW) != 0
#error "VW must divide TILE"
#endif

#define WPT_X (TILE / LX) /* outputs per work-item along a row of C (columns) */
#define WPT_Y (TILE / LY) /* outputs per work-item along a column of C (rows) */
#define ROW (TILE + PAD)

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define PRAGMA_(x) _Pragma(#x)
#define UNROLL_HINT(n) PRAGMA_(unroll n)

#if VW > 1
#define VLOAD CAT(vload, VW)
#define VSTORE CAT(vstore, VW)
#define VTYPE CAT(float, VW)
#endif

/* Copy a TILE x TILE block of `src` (rows x cols, leading dimension ld) whose top-left
 * element is (r0, c0) into `dst`, zero-filling what lies outside the matrix. All work-items
 * of the group share the work, VW floats per step. */
inline void load_tile(__local float *dst, __global const float *src, const int rows,
                      const int cols, const int ld, const int r0, const int c0, const int tid)
{
    const int per_row = TILE / VW;
    for (int v = tid; v < TILE * per_row; v += LX * LY) {
        const int r = v / per_row;
        const int c = (v - r * per_row) * VW;
        const int gr = r0 + r;
        const int gc = c0 + c;
        __local float *out = dst + r * ROW + c;
#if VW > 1
        if (gr < rows && gc + VW <= cols) {
            VSTORE(VLOAD(0, src + (size_t)gr * ld + gc), 0, out);
            continue;
        }
        for (int i = 0; i < VW; ++i) {
            out[i] = (gr < rows && gc + i < cols) ? src[(size_t)gr * ld + gc + i] : 0.0f;
        }
#else
        out[0] = (gr < rows && gc < cols) ? src[(size_t)gr * ld + gc] : 0.0f;
#endif
    }
}

__kernel __attribute__((reqd_work_group_size(LX, LY, 1))) void
gemm(const int M, const int N, const int K, __global const float *restrict A,
     __global const float *restrict B, __global float *restrict C)
{
    __local float As[TILE * ROW];
    __local float Bs[TILE * ROW];

    const int lx = get_local_id(0);
    const int ly = get_local_id(1);
    const int tid = ly * LX + lx;
    const int col0 = get_group_id(0) * TILE;
    const int row0 = get_group_id(1) * TILE;

    float acc[WPT_Y][WPT_X];
    for (int y = 0; y < WPT_Y; ++y)
        for (int x = 0; x < WPT_X; ++x)
            acc[y][x] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TILE) {
        load_tile(As, A, M, K, K, row0, k0, tid);
        load_tile(Bs, B, K, N, N, k0, col0, tid);
        barrier(CLK_LOCAL_MEM_FENCE);

#if UNROLL > 0
        UNROLL_HINT(UNROLL)
#endif
        for (int k = 0; k < TILE; ++k) {
            float b[WPT_X];
            for (int x = 0; x < WPT_X; ++x)
                b[x] = Bs[k * ROW + lx + x * LX];
            for (int y = 0; y < WPT_Y; ++y) {
                const float a = As[(ly + y * LY) * ROW + k];
                for (int x = 0; x < WPT_X; ++x)
                    acc[y][x] += a * b[x];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int y = 0; y < WPT_Y; ++y) {
        const int row = row0 + ly + y * LY;
        if (row >= M)
            continue;
        for (int x = 0; x < WPT_X; ++x) {
            const int col = col0 + lx + x * LX;
            if (col < N)
                C[(size_t)row * N + col] = acc[y][x];
        }
    }
}
