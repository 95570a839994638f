/* ViT encoder blocks: timm's pre-norm Block and PyTorch's post-norm nn.TransformerEncoderLayer
 * (the naming layer gives both timm's names).
 * Both attend over the whole sequence with the shared multi-head attention (window_attention.c)
 * as one "window" of N tokens, without relative position bias or mask.
 * Legend: B batch, N tokens per sequence, C channels, nH heads, F MLP hidden width. */
#include <stdint.h>
#include <string.h>

#include "layers.h"

swin_status swin__vit_block_bind(swin_vit_block *blk, swin_weights *w, const char *prefix,
                                 int64_t dim, int64_t heads, int64_t hidden, float eps,
                                 swin_activation act, bool qkv_bias, bool post_norm) {
    char name[256], fc1[256], fc2[256];
    memset(blk, 0, sizeof *blk);
    blk->post_norm = post_norm;
    SWIN_TRY(
        swin__norm_bind(&blk->norm1, w, swin__name(name, sizeof name, prefix, ".norm1"), dim, eps));
    SWIN_TRY(swin__attention_bind(&blk->attn, w, swin__name(name, sizeof name, prefix, ".attn"),
                                  dim, heads, 0, 0, qkv_bias, false));
    SWIN_TRY(
        swin__norm_bind(&blk->norm2, w, swin__name(name, sizeof name, prefix, ".norm2"), dim, eps));
    swin__name(fc1, sizeof fc1, prefix, ".mlp.fc1");
    swin__name(fc2, sizeof fc2, prefix, ".mlp.fc2");
    return swin__mlp_bind(&blk->mlp, w, fc1, fc2, dim, hidden, act);
}

/* normed x [B*N, C], branch output [B*N, C], then the larger of the attention's scratch (qkv,
 * and per thread swin__attention_scores_floats(N)) and the Mlp's hidden [B*N, F]. SIZE_MAX
 * when the count overflows. */
size_t swin__vit_block_scratch(const swin_vit_block *blk, int64_t B, int64_t N, int threads) {
    const size_t C = (size_t)blk->attn.dim, per_thread = swin__attention_scores_floats(N);
    size_t rows, scores, attn, mlp, two, total;
    if (per_thread == SIZE_MAX || !swin__mul_size((size_t)B, (size_t)N, &rows) ||
        !swin__mul_size(rows, 4 * C, &attn) ||
        !swin__mul_size(per_thread, (size_t)threads, &scores) ||
        !swin__add_size(attn, scores, &attn) ||
        !swin__mul_size(rows, (size_t)blk->mlp.hidden, &mlp) ||
        !swin__mul_size(rows, 2 * C, &two) || !swin__add_size(two, attn > mlp ? attn : mlp, &total))
        return SIZE_MAX;
    return total;
}

void swin__vit_block_forward(float *x, const swin_vit_block *blk, int64_t B, int64_t N,
                             float *scratch, swin_pool *pool) {
    const int64_t C = blk->attn.dim, rows = B * N;
    float *normed = scratch;
    float *branch = normed + rows * C;
    float *work = branch + rows * C;
    const swin_norm *n1 = &blk->norm1, *n2 = &blk->norm2;
    if (blk->post_norm) {
        swin__attention_forward(branch, x, &blk->attn, B, N, NULL, NULL, 1, work, pool);
        swin__add_inplace(x, branch, rows * C);
        swin__layernorm(x, x, n1->weight, n1->bias, rows, C, n1->eps, pool);
        swin__mlp_forward(branch, x, &blk->mlp, rows, work, pool);
        swin__add_inplace(x, branch, rows * C);
        swin__layernorm(x, x, n2->weight, n2->bias, rows, C, n2->eps, pool);
        return;
    }
    /* pre-norm: the residual additions are fused into proj and fc2 */
    const swin_attention *a = &blk->attn;
    float *qkv = work, *scores = qkv + rows * 3 * C;
    swin__layernorm(normed, x, n1->weight, n1->bias, rows, C, n1->eps, pool);
    swin__linear(qkv, normed, a->qkv_w, a->qkv_b, rows, C, 3 * C, pool);
    swin__attention_core(branch, qkv, a, B, N, NULL, NULL, 1, scores, pool);
    swin__linear_ex(x, C, branch, a->proj_w, a->proj_b, rows, C, C, SWIN_EPI_ACCUMULATE, pool);
    swin__layernorm(normed, x, n2->weight, n2->bias, rows, C, n2->eps, pool);
    swin__mlp_forward_residual(x, normed, &blk->mlp, rows, work, pool);
}
