// llama-greedy: greedy decoding through libllama's public C API, for scripts/e2e-generate.py.
//
//   llama-greedy MODEL.gguf PROMPT N
//
// Loads MODEL on the CPU, tokenizes PROMPT with add_special=true and parse_special=true (BOS/EOS as the
// GGUF's tokenizer.ggml.add_bos_token/add_eos_token say; special-token text such as "<|endoftext|>" becomes
// its id), evaluates the prompt, then appends N tokens, each the argmax of the last logits (ties go to the
// lowest id). It does not stop at end-of-generation tokens. Prints one line of JSON:
//
//   {"prompt_ids":[...],"ids":[...]}
//
// libllama's log goes to stderr only when LLAMA_GREEDY_VERBOSE is set; on failure the message quotes libllama's
// first error line. Exit status 2 on any error.
//
// Build against a llama.cpp build (pass your own paths; scripts/e2e-generate.py does this):
//   cc -O2 scripts/llama-greedy.c -I SRC/include -I SRC/ggml/include -L LIBDIR
//      -lllama -lggml -lggml-base -Wl,-rpath,LIBDIR -o llama-greedy

#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The first error line libllama logged (its cause; later lines only say that loading failed).
static char last_error[512];

static void quiet_log(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    if (level == GGML_LOG_LEVEL_ERROR && last_error[0] == '\0') {
        snprintf(last_error, sizeof last_error, "%s", text);
        last_error[strcspn(last_error, "\n")] = '\0';
    }
    if (getenv("LLAMA_GREEDY_VERBOSE") != NULL) {
        fputs(text, stderr);
    }
}

static int fail(const char * what) {
    if (last_error[0] != '\0') {
        fprintf(stderr, "llama-greedy: %s (%s)\n", what, last_error);
    } else {
        fprintf(stderr, "llama-greedy: %s\n", what);
    }
    return 2;
}

static void print_ids(const char * key, const llama_token * ids, int n) {
    printf("\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        printf(i ? ",%d" : "%d", ids[i]);
    }
    printf("]");
}

int main(int argc, char ** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.gguf PROMPT N\n", argv[0]);
        return 2;
    }
    const char * path = argv[1];
    const char * prompt = argv[2];
    char * end = NULL;
    const long n_gen = strtol(argv[3], &end, 10);
    if (end == argv[3] || *end != '\0' || n_gen < 0 || n_gen > 1000000) {
        return fail("N must be a non-negative integer");
    }

    llama_log_set(quiet_log, NULL);
    llama_backend_init();

    struct llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    struct llama_model * model = llama_model_load_from_file(path, mparams);
    if (model == NULL) {
        return fail("cannot load the model");
    }
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);

    // First call sizes the result: it returns minus the number of tokens needed.
    const int text_len = (int) strlen(prompt);
    int n_prompt = -llama_tokenize(vocab, prompt, text_len, NULL, 0, true, true);
    if (n_prompt <= 0) {
        return fail("the prompt tokenizes to no tokens");
    }
    llama_token * prompt_ids = malloc(sizeof(llama_token) * (size_t) n_prompt);
    llama_token * ids = malloc(sizeof(llama_token) * (size_t) (n_gen > 0 ? n_gen : 1));
    if (prompt_ids == NULL || ids == NULL) {
        return fail("out of memory");
    }
    if (llama_tokenize(vocab, prompt, text_len, prompt_ids, n_prompt, true, true) != n_prompt) {
        return fail("tokenization failed");
    }

    struct llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t) (n_prompt + n_gen);
    cparams.n_batch = (uint32_t) n_prompt;
    cparams.n_ubatch = (uint32_t) n_prompt;
    cparams.no_perf = true;
    struct llama_context * ctx = llama_init_from_model(model, cparams);
    if (ctx == NULL) {
        return fail("cannot create a context");
    }

    // The prompt in one batch; llama_batch_get_one asks for the last position's logits only and lets
    // llama_decode track positions.
    struct llama_batch batch = llama_batch_get_one(prompt_ids, n_prompt);
    for (long i = 0; i < n_gen; i++) {
        if (llama_decode(ctx, batch) != 0) {
            return fail("llama_decode failed");
        }
        const float * logits = llama_get_logits_ith(ctx, -1);
        if (logits == NULL) {
            return fail("no logits");
        }
        int best = 0;
        for (int v = 1; v < n_vocab; v++) {
            if (logits[v] > logits[best]) {
                best = v;
            }
        }
        ids[i] = best;
        batch = llama_batch_get_one(&ids[i], 1);
    }

    printf("{");
    print_ids("prompt_ids", prompt_ids, n_prompt);
    printf(",");
    print_ids("ids", ids, (int) n_gen);
    printf("}\n");

    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    free(prompt_ids);
    free(ids);
    return 0;
}
