// GPT-2's byte-to-unicode alphabet: each of the 256 byte values is written as one printable Unicode
// character, so that a byte-level BPE vocabulary is a list of ordinary strings. Printable Latin-1
// bytes (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) stand for themselves; the other 68 bytes, in increasing order,
// take U+0100, U+0101, …  (so the space 0x20 is `Ġ` U+0120 and the newline 0x0A is `Ċ` U+010A).

enum ByteLevel {
    /// The character standing for each byte value.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            if printable {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// The byte each alphabet character stands for; nil for characters outside the alphabet.
    static func byte(forScalar v: UInt32) -> UInt8? {
        if v < 256 {
            let b = Int(v)
            let printable = (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
            return printable ? UInt8(b) : nil
        }
        return scalarToByte[v]
    }

    private static let scalarToByte: [UInt32: UInt8] = {
        var m: [UInt32: UInt8] = [:]
        for b in 0..<256 where byteToScalar[b] >= 256 { m[byteToScalar[b]] = UInt8(b) }
        return m
    }()

    /// A byte string written in the alphabet.
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(Unicode.Scalar(byteToScalar[Int(b)])!) }
        return String(s)
    }

    /// The bytes an alphabet string stands for; nil if any character is outside the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard let b = byte(forScalar: s.value) else { return nil }
            out.append(b)
        }
        return out
    }
}
