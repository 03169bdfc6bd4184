// Token strings for the analysis tables and plots: each token decoded on its own by the model's
// tokenizer, with whitespace made visible (a space is ␣, a run of N ≥ 4 spaces ␣×N, a newline ↵, a
// tab ⇥) and other control characters as \u{…}; a piece that is only part of a UTF-8 character decodes
// to U+FFFD. Without a tokenizer a token is shown as its id.

/// Labels for token ids.
public enum TokenLabel {
    /// The visible text of token `id`, at most `limit` characters (then cut with "…").
    public static func label(_ id: Int, tokenizer: Tokenizer?, limit: Int = 12) -> String {
        guard let tokenizer, id >= 0, id < tokenizer.vocabularySize else { return String(id) }
        let text = visible(tokenizer.decode([id]))
        return text.isEmpty ? "∅" : cut(text, limit)
    }

    /// Labels for a sequence.
    public static func labels(_ ids: [Int], tokenizer: Tokenizer?, limit: Int = 12) -> [String] {
        ids.map { label($0, tokenizer: tokenizer, limit: limit) }
    }

    /// Text on one line (whitespace made visible), at most `limit` characters.
    public static func oneLine(_ s: String, limit: Int) -> String { cut(visible(s), limit) }

    /// Whitespace and control characters made visible.
    static func visible(_ s: String) -> String {
        var out = ""
        var spaces = 0
        func flush() {
            if spaces >= 4 {
                out += "␣×\(spaces)"
            } else {
                out += String(repeating: "␣", count: spaces)
            }
            spaces = 0
        }
        for u in s.unicodeScalars {
            if u == " " {
                spaces += 1
                continue
            }
            flush()
            switch u {
            case "\n": out += "↵"
            case "\r": out += "⏎"
            case "\t": out += "⇥"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    out += "\\u{\(String(u.value, radix: 16))}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        flush()
        return out
    }

    static func cut(_ s: String, _ limit: Int) -> String { s.count <= limit ? s : String(s.prefix(max(1, limit - 1))) + "…" }
}
