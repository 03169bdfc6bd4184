// The LLaMA Q/K row orders (layouts.md §3.3). Within each head of `hd` rows:
//   half-split (HF):         rows [0, hd/2) are the first members of the RoPE pairs, [hd/2, hd) the second;
//   interleaved (Meta, GGUF): pair i is rows (2i, 2i+1).
// llama.cpp's `permute` (view [heads, 2, hd/2, …], swap axes 1 and 2) takes half-split to
// interleaved: interleaved[h·hd + 2i + j] = half[h·hd + j·hd/2 + i]. Biases are permuted the
// same way; K uses the KV head count.

/// Row permutations between half-split and interleaved Q/K order.
public enum QKOrder {
    /// For each destination row, the source row it comes from, when converting rows of
    /// `heads` heads from `from` order to `to` order. Identity when the orders agree.
    public static func sourceRows(rows: Int, heads: Int, from: RoPEStyle, to: RoPEStyle) -> [Int] {
        guard from != to, heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else { return Array(0..<rows) }
        let hd = rows / heads
        let half = hd / 2
        var map = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let interleaved = h * hd + 2 * i + j
                    let split = h * hd + j * half + i
                    if to == .interleaved { map[interleaved] = split } else { map[split] = interleaved }
                }
            }
        }
        return map
    }

    /// Whether `rows` rows can be split into `heads` heads of an even head size.
    public static func permutable(rows: Int, heads: Int) -> Bool {
        heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0
    }
}
